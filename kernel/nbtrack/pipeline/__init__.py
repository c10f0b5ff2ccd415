"""The background pipeline in the kernel: byte-bounded queues, the mailbox, the handler,
writer and sender stages, and the one module that wires them."""
