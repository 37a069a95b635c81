#include <criterion/criterion.h>
#include <string.h>

#include "vlab/uart.h"

static struct vlab_uart u;

static void setup(void) {
    vlab_uart_init(&u, NULL, NULL);
}

static void puts_uart(const char *s) {
    while (*s)
        vlab_uart_write(&u, VLAB_UART_THR, (uint8_t)*s++);
}

Test(core, uart_lsr_transmitter_always_empty, .init = setup) {
    uint8_t lsr = vlab_uart_read(&u, VLAB_UART_LSR);
    cr_assert_eq(
        lsr & (VLAB_UART_LSR_THRE | VLAB_UART_LSR_TEMT), VLAB_UART_LSR_THRE | VLAB_UART_LSR_TEMT,
        "expected THRE|TEMT (0x60) at power-on so a polling driver can send, LSR %#x", lsr);
    cr_assert_eq(lsr & VLAB_UART_LSR_DR, 0, "expected no data ready without input, LSR %#x", lsr);
    puts_uart("x");
    lsr = vlab_uart_read(&u, VLAB_UART_LSR);
    cr_assert_eq(lsr & 0x60, 0x60, "expected THRE|TEMT right after a write, LSR %#x", lsr);
}

Test(core, uart_output_captured, .init = setup) {
    puts_uart("hello\n");
    cr_assert_str_eq(u.out, "hello\n", "expected the THR bytes captured, got \"%s\"", u.out);
    cr_assert_eq(u.tx_bytes, 6, "expected 6 bytes sent, got %llu", (unsigned long long)u.tx_bytes);
}

static char sink[16];
static size_t nsink;
static void tx(void *ctx, uint8_t b) {
    cr_assert_eq(ctx, &nsink, "expected the callback context passed through");
    if (nsink < sizeof sink - 1) sink[nsink++] = (char)b;
}

Test(core, uart_output_callback) {
    vlab_uart_init(&u, tx, &nsink);
    nsink = 0;
    memset(sink, 0, sizeof sink);
    puts_uart("ab");
    cr_assert_str_eq(sink, "ab", "expected the callback to get every byte, got \"%s\"", sink);
    cr_assert_eq(u.out_len, 0, "expected nothing captured when a callback is set");
}

Test(core, uart_dlab_divisor_latch, .init = setup) {
    vlab_uart_write(&u, VLAB_UART_IER, 0x01);
    vlab_uart_write(&u, VLAB_UART_LCR, VLAB_UART_LCR_DLAB | 0x03);
    cr_assert(vlab_uart_read(&u, VLAB_UART_DLL) == 12 && vlab_uart_read(&u, VLAB_UART_DLM) == 0,
              "expected the reset divisor 12 (9600 baud, the BIOS default)");
    vlab_uart_write(&u, VLAB_UART_DLL, 0x01); /* 115200 baud */
    vlab_uart_write(&u, VLAB_UART_DLM, 0x00);
    cr_assert_eq(u.out_len, 0, "expected a DLL write with DLAB set not to transmit, sent \"%s\"",
                 u.out);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_DLL), 0x01, "expected DLL readable under DLAB");
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_DLM), 0x00, "expected DLM readable under DLAB");
    cr_assert_eq(vlab_uart_divisor(&u), 1, "expected divisor 1, got %u", vlab_uart_divisor(&u));
    vlab_uart_write(&u, VLAB_UART_LCR, 0x03); /* DLAB off, 8N1 */
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IER), 0x01,
                 "expected IER untouched by the DLM write (DLAB was set), got %#x",
                 vlab_uart_read(&u, VLAB_UART_IER));
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_LCR), 0x03, "expected LCR 0x03");
    puts_uart("k");
    cr_assert_str_eq(u.out, "k", "expected THR to transmit again with DLAB clear, got \"%s\"",
                     u.out);
}

Test(core, uart_input_sets_dr_and_rbr, .init = setup) {
    cr_assert_eq(vlab_uart_input(&u, "hi", 2), 2, "expected 2 bytes queued");
    uint8_t lsr = vlab_uart_read(&u, VLAB_UART_LSR);
    cr_assert(lsr & VLAB_UART_LSR_DR, "expected DR with input queued, LSR %#x", lsr);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_RBR), 'h', "expected 'h' first from RBR");
    cr_assert(vlab_uart_read(&u, VLAB_UART_LSR) & VLAB_UART_LSR_DR, "expected DR for 'i'");
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_RBR), 'i', "expected 'i' second");
    lsr = vlab_uart_read(&u, VLAB_UART_LSR);
    cr_assert_eq(lsr & VLAB_UART_LSR_DR, 0, "expected DR clear once drained, LSR %#x", lsr);
    uint8_t many[VLAB_UART_RXQ + 5];
    memset(many, 'z', sizeof many);
    cr_assert_eq(vlab_uart_input(&u, many, sizeof many), VLAB_UART_RXQ,
                 "expected the queue to take %d bytes", VLAB_UART_RXQ);
    lsr = vlab_uart_read(&u, VLAB_UART_LSR);
    cr_assert(lsr & VLAB_UART_LSR_OE, "expected overrun reported, LSR %#x", lsr);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_LSR) & VLAB_UART_LSR_OE, 0,
                 "expected OE cleared by reading LSR");
}

Test(core, uart_iir_scr_mcr_msr, .init = setup) {
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR), VLAB_UART_IIR_NONE,
                 "expected no interrupt pending at power-on");
    vlab_uart_write(&u, VLAB_UART_FCR, 0x07);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0xc0, 0xc0, "expected FIFO bits in IIR");
    vlab_uart_write(&u, VLAB_UART_IER, VLAB_UART_IER_RDA | VLAB_UART_IER_THRE);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0x0f, VLAB_UART_IIR_THRE,
                 "expected a THRE interrupt once enabled");
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0x0f, VLAB_UART_IIR_NONE,
                 "expected reading IIR to acknowledge THRE");
    vlab_uart_input(&u, "q", 1);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0x0f, VLAB_UART_IIR_RDA,
                 "expected received-data interrupt with input queued");
    vlab_uart_write(&u, VLAB_UART_SCR, 0x5a);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_SCR), 0x5a, "expected the scratch register to hold");
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_MSR), 0xb0, "expected CTS|DSR|DCD");
    vlab_uart_write(&u, VLAB_UART_MCR, VLAB_UART_MCR_LOOP | 0x03);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_MSR), 0x30, "expected loopback DTR->DSR, RTS->CTS");
    vlab_uart_read(&u, VLAB_UART_RBR);
    puts_uart("L");
    cr_assert_eq(u.out_len, 0, "expected loopback output not to leave the UART");
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_RBR), 'L', "expected the byte looped back to RBR");
}

/* An interrupt source reports in IIR only while IER enables it: a THRE left pending with
 * IER.THRE clear is not one (a guest polling with interrupts off must not see it). */
Test(core, uart_iir_needs_ier, .init = setup) {
    vlab_uart_write(&u, VLAB_UART_IER, VLAB_UART_IER_RDA);
    puts_uart("x"); /* the transmitter empties: THRE pending, not enabled */
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0x0f, VLAB_UART_IIR_NONE,
                 "expected no THRE interrupt with IER.THRE clear");
    vlab_uart_write(&u, VLAB_UART_IER, 0);
    vlab_uart_input(&u, "q", 1);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0x0f, VLAB_UART_IIR_NONE,
                 "expected no RDA interrupt with IER clear");
}

/* Loopback maps every modem-control output to its status input: OUT1->RI, OUT2->DCD too. */
Test(core, uart_loopback_out1_out2, .init = setup) {
    vlab_uart_write(&u, VLAB_UART_MCR, VLAB_UART_MCR_LOOP | 0x04);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_MSR), 0x40, "expected loopback OUT1->RI");
    vlab_uart_write(&u, VLAB_UART_MCR, VLAB_UART_MCR_LOOP | 0x08);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_MSR), 0x80, "expected loopback OUT2->DCD");
}

/* The interrupt output as a PC wires it (IRQ 4): an enabled, pending interrupt with MCR.OUT2
 * set; reading the level acknowledges nothing, reading IIR acknowledges THRE. */
Test(core, uart_irq_line_out2_ier_ack, .init = setup) {
    vlab_uart_write(&u, VLAB_UART_IER, VLAB_UART_IER_THRE); /* THRE pending at once */
    cr_assert(!vlab_uart_irq(&u), "expected no interrupt on the wire without MCR.OUT2");
    vlab_uart_write(&u, VLAB_UART_MCR, VLAB_UART_MCR_OUT2);
    cr_assert(vlab_uart_irq(&u), "expected the THRE interrupt on the wire with OUT2 and IER.THRE");
    cr_assert(vlab_uart_irq(&u), "expected sampling the line not to acknowledge it");
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_IIR) & 0x0f, VLAB_UART_IIR_THRE,
                 "expected IIR to name THRE");
    cr_assert(!vlab_uart_irq(&u), "expected the line to drop once IIR acknowledged THRE");
    puts_uart("x");
    cr_assert(vlab_uart_irq(&u), "expected the line up again when the transmitter empties");
    vlab_uart_write(&u, VLAB_UART_IER, 0);
    cr_assert(!vlab_uart_irq(&u), "expected no interrupt with IER clear");
    vlab_uart_write(&u, VLAB_UART_IER, VLAB_UART_IER_RDA);
    vlab_uart_read(&u, VLAB_UART_IIR);
    cr_assert(!vlab_uart_irq(&u), "expected no interrupt with RDA enabled and nothing received");
    vlab_uart_input(&u, "k", 1);
    cr_assert(vlab_uart_irq(&u), "expected received data to raise the line with IER.RDA");
    vlab_uart_write(&u, VLAB_UART_MCR, VLAB_UART_MCR_OUT2 | VLAB_UART_MCR_LOOP);
    cr_assert(!vlab_uart_irq(&u), "expected loopback to disconnect the interrupt output");
    vlab_uart_write(&u, VLAB_UART_MCR, VLAB_UART_MCR_OUT2);
    cr_assert_eq(vlab_uart_read(&u, VLAB_UART_RBR), 'k', "expected the byte");
    cr_assert(!vlab_uart_irq(&u), "expected the line to drop once the byte was read");
}
