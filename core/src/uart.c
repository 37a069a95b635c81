/* 16550A register semantics (National Semiconductor PC16550D data sheet). */
#include "vlab/uart.h"

#include <string.h>

void vlab_uart_init(struct vlab_uart *u, vlab_uart_tx_fn tx, void *ctx) {
    if (!u) return;
    memset(u, 0, sizeof *u);
    u->tx = tx;
    u->tx_ctx = ctx;
    u->dll = 12; /* 115200 / 12 = 9600 baud, the BIOS default */
}

static void rx_push(struct vlab_uart *u, uint8_t b) {
    if (u->rx_len == VLAB_UART_RXQ) {
        u->overrun = true;
        return;
    }
    u->rx[(u->rx_head + u->rx_len) % VLAB_UART_RXQ] = b;
    u->rx_len++;
}

static void transmit(struct vlab_uart *u, uint8_t b) {
    if (u->mcr & VLAB_UART_MCR_LOOP) { /* loopback: the byte comes back as input */
        rx_push(u, b);
        return;
    }
    u->tx_bytes++;
    if (u->tx) {
        u->tx(u->tx_ctx, b);
    } else if (u->out_len + 1 < sizeof u->out) {
        u->out[u->out_len++] = (char)b;
        u->out[u->out_len] = 0;
    } else {
        u->tx_dropped++;
    }
}

static uint8_t iir(struct vlab_uart *u) {
    uint8_t fifo = (u->fcr & 1) ? VLAB_UART_IIR_FIFO : 0;
    if ((u->ier & VLAB_UART_IER_RDA) && u->rx_len) return fifo | VLAB_UART_IIR_RDA;
    if ((u->ier & VLAB_UART_IER_THRE) && u->thre_pending) {
        u->thre_pending = false; /* reading IIR acknowledges a THRE interrupt */
        return fifo | VLAB_UART_IIR_THRE;
    }
    return fifo | VLAB_UART_IIR_NONE;
}

bool vlab_uart_irq(const struct vlab_uart *u) {
    if (!u || (u->mcr & (VLAB_UART_MCR_OUT2 | VLAB_UART_MCR_LOOP)) != VLAB_UART_MCR_OUT2)
        return false;
    return ((u->ier & VLAB_UART_IER_RDA) && u->rx_len) ||
           ((u->ier & VLAB_UART_IER_THRE) && u->thre_pending);
}

static uint8_t msr(const struct vlab_uart *u) {
    if (u->mcr & VLAB_UART_MCR_LOOP) /* DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD */
        return (uint8_t)((u->mcr & 0x02) << 3 | (u->mcr & 0x01) << 5 | (u->mcr & 0x04) << 4 |
                         (u->mcr & 0x08) << 4);
    return 0xb0; /* a connected terminal: CTS, DSR, DCD */
}

uint8_t vlab_uart_read(struct vlab_uart *u, unsigned reg) {
    if (!u) return 0xff;
    bool dlab = u->lcr & VLAB_UART_LCR_DLAB;
    switch (reg) {
    case VLAB_UART_RBR: {
        if (dlab) return u->dll;
        if (!u->rx_len) return 0;
        uint8_t b = u->rx[u->rx_head];
        u->rx_head = (u->rx_head + 1) % VLAB_UART_RXQ;
        u->rx_len--;
        return b;
    }
    case VLAB_UART_IER: return dlab ? u->dlm : u->ier;
    case VLAB_UART_IIR: return iir(u);
    case VLAB_UART_LCR: return u->lcr;
    case VLAB_UART_MCR: return u->mcr;
    case VLAB_UART_LSR: {
        uint8_t v = VLAB_UART_LSR_THRE | VLAB_UART_LSR_TEMT;
        if (u->rx_len) v |= VLAB_UART_LSR_DR;
        if (u->overrun) v |= VLAB_UART_LSR_OE;
        u->overrun = false; /* error bits clear on read */
        return v;
    }
    case VLAB_UART_MSR: return msr(u);
    case VLAB_UART_SCR: return u->scr;
    default: return 0xff;
    }
}

void vlab_uart_write(struct vlab_uart *u, unsigned reg, uint8_t v) {
    if (!u) return;
    bool dlab = u->lcr & VLAB_UART_LCR_DLAB;
    switch (reg) {
    case VLAB_UART_THR:
        if (dlab) {
            u->dll = v;
        } else {
            transmit(u, v);
            u->thre_pending = true; /* sent at once: the holding register is empty again */
        }
        break;
    case VLAB_UART_IER:
        if (dlab) {
            u->dlm = v;
        } else {
            /* Enabling THRE with the register empty raises the interrupt right away. */
            if ((v & VLAB_UART_IER_THRE) && !(u->ier & VLAB_UART_IER_THRE)) u->thre_pending = true;
            u->ier = v & 0x0f;
        }
        break;
    case VLAB_UART_FCR:
        u->fcr = v & 0xc9;
        if (v & 0x02) u->rx_len = 0; /* clear the receive FIFO */
        break;
    case VLAB_UART_LCR: u->lcr = v; break;
    case VLAB_UART_MCR: u->mcr = v & 0x1f; break;
    case VLAB_UART_SCR: u->scr = v; break;
    default: break; /* LSR and MSR are read-only */
    }
}

size_t vlab_uart_input(struct vlab_uart *u, const void *buf, size_t len) {
    if (!u || !buf) return 0;
    const uint8_t *p = buf;
    size_t n = 0;
    for (; n < len; n++) {
        if (u->rx_len == VLAB_UART_RXQ) {
            u->overrun = true;
            break;
        }
        rx_push(u, p[n]);
    }
    return n;
}
