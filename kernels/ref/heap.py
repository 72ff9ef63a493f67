"""Plain-Python twin of `kernels.heap`: the order a (time, counter) heap pops its entries in."""


def heap_order_ref(times, seqs):
    """A heap pops (time, counter) pairs in sorted order; returns the insertion indices."""
    return [k for _, _, k in sorted(zip(times, seqs, range(len(times))))]
