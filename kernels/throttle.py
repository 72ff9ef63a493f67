"""Token buckets in a chain: API Gateway's throttling (issue "The front door and the state").

A bucket b holds up to `burst[b]` tokens and gains `rate[b]` tokens a second; it starts full
(FACTS "API Gateway": the account's 10,000 requests a second with a bucket of 5,000; stage,
route, method and usage-plan limits below it). A request passes through a chain of buckets —
AWS checks the usage plan's per-client limit, then the method's (or route's) and the stage's,
then the account's (API Gateway developer guide, "Throttle requests to your REST APIs") — and
is admitted only if every bucket of its chain holds a whole token, in which case each gives
one; otherwise it is refused (429) and takes none (our reading: a refused request consumes no
quota). Requests are taken in time order; a bucket's tokens are brought up to date lazily, at
the requests that reach it. Twin: `kernels/ref/throttle.py`.
"""

import numpy as np

from kernels import jit, jit_inline


@jit_inline
def refill(b, t, rate, burst, tokens, last):
    """Bucket b's tokens at t (t >= its last update), stored."""
    tok = tokens[b] + rate[b] * (t - last[b])
    if tok > burst[b]:
        tok = burst[b]
    tokens[b] = tok
    last[b] = t
    return tok


@jit_inline
def admit(t, chain, lo, hi, rate, burst, tokens, last):
    """Whether a request at t passes buckets chain[lo:hi]; if so each gives a token."""
    ok = True
    for j in range(lo, hi):
        if refill(chain[j], t, rate, burst, tokens, last) < 1.0:
            ok = False
    if ok:
        for j in range(lo, hi):
            tokens[chain[j]] -= 1.0
    return ok


@jit
def admit_many(t, req_chain, chain_off, chain, rate, burst, tokens, last, ok):
    """Requests at times t (ascending), request i through chain number req_chain[i] (buckets
    chain[chain_off[c]:chain_off[c + 1]]): ok[i] whether it was admitted; the buckets' state
    (tokens, last) carries over to the next call. Returns the number admitted."""
    n = 0
    for i in range(t.shape[0]):
        c = req_chain[i]
        ok[i] = admit(t[i], chain, chain_off[c], chain_off[c + 1], rate, burst, tokens, last)
        if ok[i]:
            n += 1
    return n


def full_buckets(rate, burst):
    """(tokens, last) of buckets that start full at time 0."""
    return np.asarray(burst, np.float64).copy(), np.zeros(len(burst), np.float64)
