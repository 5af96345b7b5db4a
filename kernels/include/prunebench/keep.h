// PB_KEEP(x): an empty asm statement that claims to read and modify x, in a register. The compiler must then
// assume x changes unpredictably at that point: it cannot fold a chain of operations on x into a closed form,
// drop it as dead, or merge independent chains. It emits no instruction.
#pragma once
#if defined(__x86_64__) || defined(__i386__)
#define PB_KEEP(x) asm volatile("" : "+x"(x))
#define PB_KEEP_INT(x) asm volatile("" : "+r"(x))
#elif defined(__aarch64__)
#define PB_KEEP(x) asm volatile("" : "+w"(x))
#define PB_KEEP_INT(x) asm volatile("" : "+r"(x))
#else
#define PB_KEEP(x) asm volatile("" : "+m"(x))
#define PB_KEEP_INT(x) asm volatile("" : "+m"(x))
#endif
