/* A 16550A UART as a VMM device model: the eight registers at base..base+7 with the DLAB
 * divisor latch, enough for a polling guest driver (and the interrupt-identification logic
 * for one that enables interrupts; raising the interrupt is the VMM's business). The
 * transmitter is infinitely fast: THRE and TEMT are always set, so a driver that waits for
 * them never spins. Output goes to a callback, or into a capture buffer without one. */
#ifndef VLAB_UART_H
#define VLAB_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VLAB_UART_COM1 0x3f8

/* register offsets */
#define VLAB_UART_RBR 0 /* read, DLAB = 0: receive buffer */
#define VLAB_UART_THR 0 /* write, DLAB = 0: transmit holding */
#define VLAB_UART_DLL 0 /* DLAB = 1: divisor latch, low byte */
#define VLAB_UART_IER 1 /* DLAB = 0 */
#define VLAB_UART_DLM 1 /* DLAB = 1: divisor latch, high byte */
#define VLAB_UART_IIR 2 /* read */
#define VLAB_UART_FCR 2 /* write */
#define VLAB_UART_LCR 3
#define VLAB_UART_MCR 4
#define VLAB_UART_LSR 5
#define VLAB_UART_MSR 6
#define VLAB_UART_SCR 7

#define VLAB_UART_LCR_DLAB 0x80
#define VLAB_UART_LSR_DR   0x01 /* data ready */
#define VLAB_UART_LSR_OE   0x02 /* overrun: input arrived with the queue full */
#define VLAB_UART_LSR_THRE 0x20 /* transmit holding register empty */
#define VLAB_UART_LSR_TEMT 0x40 /* transmitter empty */
#define VLAB_UART_IER_RDA  0x01
#define VLAB_UART_IER_THRE 0x02
#define VLAB_UART_IIR_NONE 0x01
#define VLAB_UART_IIR_THRE 0x02
#define VLAB_UART_IIR_RDA  0x04
#define VLAB_UART_IIR_FIFO 0xc0
#define VLAB_UART_MCR_OUT2 0x08 /* on a PC: connects the interrupt output to the PIC */
#define VLAB_UART_MCR_LOOP 0x10

#define VLAB_UART_RXQ 64

typedef void (*vlab_uart_tx_fn)(void *ctx, uint8_t byte);

struct vlab_uart {
    uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
    bool overrun, thre_pending;
    uint8_t rx[VLAB_UART_RXQ];
    unsigned rx_head, rx_len;
    vlab_uart_tx_fn tx;
    void *tx_ctx;
    char out[4096]; /* capture when tx is NULL; always NUL-terminated */
    size_t out_len;
    uint64_t tx_bytes, tx_dropped;
};

/* Power-on state (divisor 12 = 9600 baud, 8N1 off, no interrupts). tx may be NULL. */
void vlab_uart_init(struct vlab_uart *u, vlab_uart_tx_fn tx, void *ctx);
/* Guest accesses; reg is the offset from the base port (0..7, others read 0xff / ignored). */
uint8_t vlab_uart_read(struct vlab_uart *u, unsigned reg);
void vlab_uart_write(struct vlab_uart *u, unsigned reg, uint8_t value);
/* The level of the interrupt line as a PC wires it (IRQ 4 for COM1): an enabled interrupt is
 * pending (received data with IER.RDA, an empty transmitter not yet acknowledged by an IIR
 * read with IER.THRE) and MCR.OUT2 connects the output; loopback disconnects it. Reading it
 * acknowledges nothing: a VMM samples it after every register access and drives the line. */
bool vlab_uart_irq(const struct vlab_uart *u);
/* Queues input for the guest; returns the bytes accepted (the rest set LSR.OE). */
size_t vlab_uart_input(struct vlab_uart *u, const void *buf, size_t len);
/* The divisor latch value (DLM:DLL). */
static inline uint16_t vlab_uart_divisor(const struct vlab_uart *u) {
    return (uint16_t)(u->dll | u->dlm << 8);
}

#endif
