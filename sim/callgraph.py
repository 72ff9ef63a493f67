"""The expected-calls matrix of a scenario's functions, and the build-time check that every request's chain ends.

`M[f, g]` is the expected number of invocations of function `g` that one invocation of `f`
causes directly (kernels/ACCOUNT_SPEC.md §9). The expected number of descendants of one
request is the sum of the powers of M, finite exactly when M's spectral radius is below 1;
a radius of 1 or more means a request's chain never ends on average (a function feeding
its own queue with certainty, say), which `check_call_graph` refuses with the cycle's
functions.

Message classes make it a matrix over states (function, class): a call without
`attributes` carries the class of the item that invoked the function (ACCOUNT_SPEC.md §3),
so whether a topic's filter policy lets it through depends on that class, and only the
states keep the expected counts exact. `M[(f, k), (g, k')]` adds, per call of `f`,
p·n (probability × count, sync and async alike) × the call's share of class k' (1 for
k' = k without attributes; the attributes' product probability with them) × the
invocations of `g` that one item of class k' sent to the call's target makes:

- `function:g`: 1;
- `queue:q`: 1 per event source mapping of q that invokes g (worker fleets invoke no function);
- `topic:t`: per subscription whose filter policy selects class k' (the builder's class x
  subscription table, `sim.messaging.wiring.topic_table`): 1 for a `lambda` subscription to
  g, and the queue's count for an `sqs` one; https and email leave the account;
- `bus:b`: per rule whose event pattern selects k' (`bus_table`), per target, likewise.

Not counted (their expected counts depend on failures the run draws): async invocation
retries, SDK retries, mapping redeliveries, SNS/EventBridge delivery retries, dead-letter
queues and on-failure destinations. Everything else is counted as if it happened: every
call an invocation would make is made (a throttled, failed or timed-out invocation makes
fewer; a call that fails for good with `on_error: fail` stops the rest) and every item
sent is delivered (a delivery can be dropped after its retries, a message can expire), so
the true counts are at most these. Two more counts are bounds rather than exact: a queue
read by several mappings (or fleets) hands each message to one of them, and a mapping
invocation may carry a batch of several messages; we count one invocation of every
mapping's function per message, the least bound that holds whatever the run does. So the
check never lets a runaway graph through, and can refuse one that failures, batching or
competing consumers would keep finite.

Every state counts, whether or not today's traffic carries that class to that function:
a loop that runs away for some class is refused (dead-letter queues and on-failure
destinations, not followed here, could bring any class anywhere).
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Dict, Hashable, Iterable, List, Mapping, Sequence, Tuple

import numpy as np

from scenarios.addresses import Address
from scenarios.state import WRITE_OPERATIONS

# A radius this close below 1 counts as 1: the eigenvalue solver is accurate to about
# 1e-12 relative on these small non-negative matrices, and a loop that is exactly critical
# (one call per invocation around it, on average) has infinite expected descendants.
RADIUS_TOLERANCE = 1e-9


def spectral_radius(m: np.ndarray) -> float:
    """The largest modulus of the eigenvalues of the square matrix `m` (0 for an empty one)."""
    m = np.asarray(m, float)
    if m.size == 0:
        return 0.0
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def strongly_connected(adjacency: Mapping[Hashable, Iterable[Hashable]]) -> List[List[Hashable]]:
    """The strongly connected components of a directed graph {node: successors} (Tarjan), each
    sorted, in the order Tarjan finishes them; nodes without an entry have no successors.

    Iterative (an explicit stack), so a graph of thousands of (function, class) states in a
    chain does not reach Python's recursion limit.
    """
    index: Dict[Hashable, int] = {}
    low: Dict[Hashable, int] = {}
    on, stack, out = set(), [], []

    def enter(v) -> tuple:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        return v, iter(sorted(adjacency.get(v, ())))

    for root in sorted(adjacency):
        if root in index:
            continue
        work = [enter(root)]
        while work:
            v, successors = work[-1]
            for w in successors:
                if w not in index:
                    work.append(enter(w))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:  # every successor seen: v is finished
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def worst_parts(weights: Mapping[Hashable, Mapping[Hashable, float]]) -> List[Tuple[float, List[Hashable]]]:
    """(radius, nodes) of every strongly connected part of the weighted graph {node: {successor:
    weight}} (weights > 0) that has a cycle, largest radius first; the spectral radius of the
    whole matrix is the largest of its parts' (a non-negative matrix is block triangular over
    its strongly connected parts)."""
    adjacency = {v: [w for w, x in succ.items() if x > 0] for v, succ in weights.items()}
    out = []
    for comp in strongly_connected(adjacency):
        if len(comp) == 1 and weights.get(comp[0], {}).get(comp[0], 0.0) <= 0:
            continue  # no cycle through it: its radius is 0
        pos = {v: i for i, v in enumerate(comp)}
        m = np.zeros((len(comp), len(comp)))
        for v in comp:
            for w, x in weights.get(v, {}).items():
                if w in pos:
                    m[pos[v], pos[w]] += x
        out.append((spectral_radius(m), comp))
    out.sort(key=lambda rc: -rc[0])
    return out


def runaway_cycle(m: np.ndarray, names: Sequence[str]) -> Tuple[float, List[str]]:
    """(radius, functions) of the strongly connected part of the call graph with the largest
    spectral radius; the radius of the whole matrix is the largest of its parts'."""
    m = np.asarray(m, float)
    parts = worst_parts({f: {g: float(m[f, g]) for g in np.flatnonzero(m[f] > 0).tolist()} for f in range(len(m))})
    if not parts or parts[0][0] <= 0:
        return 0.0, []
    r, comp = parts[0]
    return r, [names[i] for i in comp]


def expected_visits(mc, base_dir=None) -> Tuple[List[Tuple[int, int]], np.ndarray, float]:
    """(rows, visits, radius) of a compiled state machine (`scenarios.workflows.Machine`): each
    state's expected entries per execution, its errors, retries and catches left out (as SDK
    retries are, above), and the
    spectral radius of the machine's transition matrix (>= 1: its states loop without end on
    average). A Choice goes to each branch with its probability; a Parallel enters each branch
    once; a Map enters its processor once per item (the mean of `items`)."""
    from sim.engine.distributions import mean_of

    off = np.cumsum([0] + [len(sc.states) for sc in mc.scopes]).tolist()
    rows = [(s, j) for s, sc in enumerate(mc.scopes) for j in range(len(sc.states))]
    n = len(rows)
    T = np.zeros((n, n))
    for r, (s, j) in enumerate(rows):
        st = mc.scopes[s].states[j]
        if st.kind == "choice":
            for p, nxt in st.branches:
                T[r, off[s] + nxt] += float(p)
            if st.default >= 0:
                T[r, off[s] + st.default] += float(st.p_default)
            continue
        if st.kind in ("succeed", "fail"):
            continue
        if st.next >= 0:
            T[r, off[s] + st.next] += 1.0
        if st.kind == "parallel":
            for b in st.branches:
                T[r, off[b] + mc.scopes[b].start] += 1.0
        elif st.kind == "map":
            T[r, off[st.scope] + mc.scopes[st.scope].start] += max(mean_of(st.items, base_dir), 0.0)
    radius = spectral_radius(T)
    start = np.zeros(n)
    start[off[0] + mc.scopes[0].start] = 1.0
    if radius >= 1.0:
        return rows, np.full(n, np.inf), radius
    return rows, np.linalg.solve((np.eye(n) - T).T, start), radius


# ---------------------------------------------------------------- the scenario's graph

State = Tuple[str, int]  # (function, message class)


class CallGraph:
    """The expected-calls matrix of scenario `sc` over (function, class) states, kept sparse.

    `policies` and `patterns` are the compiled filters (`sim.messaging.wiring.compile_filters`).
    Classes are the builder's (`ClassRegistry`: every traffic source's), followed by those of
    each call with `attributes`, made as a traffic source's from its `message.attributes`.
    """

    def __init__(self, sc, policies, patterns):
        from scenarios.addresses import SUBSCRIPTION_PROTOCOLS, parse
        from sim.messaging.classes import ClassRegistry
        from sim.messaging.wiring import bus_table, topic_table

        self.scenario = sc
        registry = ClassRegistry(sc)
        # a call's own classes (numbered after the traffic's): (class, probability) pairs
        self.call_classes: Dict[Tuple[str, int], List[Tuple[int, float]]] = {}
        for where, own in registry.by_call.items():
            probs = np.diff(own.cdf, prepend=0.0)
            self.call_classes[where] = [(own.offset + j, float(p)) for j, p in enumerate(probs) if p > 0]
        self.classes: List[dict] = registry.messages
        self._topic = {t: topic_table(sc, registry, t, policies[t]) for t in sc.topics}
        self._bus = {b: bus_table(registry, patterns[b]) for b in sc.buses}
        self._mapped: Dict[str, List[str]] = defaultdict(list)  # queue -> functions its mappings invoke
        for m in sc.event_source_mappings:
            if m.function in sc.functions:
                self._mapped[m.source].append(m.function)
        for t, table in getattr(sc, "tables", {}).items():  # a table's stream: its writes' records invoke
            if table.stream is not None and table.stream.function in sc.functions:  # (a batch of one at worst)
                self._mapped[f"stream:{t}"].append(table.stream.function)
        self._protocols, self._parse = SUBSCRIPTION_PROTOCOLS, parse
        self._memo: Dict[Tuple[str, str, int], Dict[str, float]] = {}
        # weights[(f, k)][(g, k')]: M; via[((f, k), (g, k'))]: the calls of f that make that entry
        self.weights: Dict[State, Dict[State, float]] = {}
        self.via: Dict[Tuple[State, State], List[int]] = defaultdict(list)
        for name, fn in sc.functions.items():
            self._add_function(name, fn)
        # Step Functions state machines are nodes `sfn:NAME`: an execution makes each Task's call
        # its expected entries times (sim.integration.workflows.expected_visits)
        self.tasks: Dict[str, List[Tuple[str, str]]] = {}  # sfn:NAME -> its Tasks' (YAML path, target)
        self.endless: List[Tuple[str, float]] = []  # machines whose states loop without end: (name, radius)
        for name, sm in (getattr(sc, "state_machines", None) or {}).items():
            self._add_machine(name, sm)

    def _add_machine(self, name: str, sm) -> None:
        from scenarios.workflows import compile_machine
        from scenarios.yamlpath import key

        mc = compile_machine(name, sm, self.scenario)
        rows, visits, radius = expected_visits(mc)
        node = f"sfn:{name}"
        tasks = []
        for (s, j), v in zip(rows, visits):
            st = mc.scopes[s].states[j]
            if st.kind == "task":
                tasks.append((key(key(key(mc.scopes[s].path, "States"), st.name), "Resource"), st.target, v))
        self.tasks[node] = [(p, t) for p, t, _ in tasks]
        if radius >= 1.0:
            self.endless.append((name, radius))
            return
        for k in range(len(self.classes)):
            row: Dict[State, float] = defaultdict(float)
            for i, (_path, target, v) in enumerate(tasks):
                if v <= 0:
                    continue
                address = self._parse(target)
                for g, n in self.invocations(address.kind, address.name, k).items():
                    row[(g, k)] += v * n
                    self.via[((node, k), (g, k))].append(i)
            if row:
                self.weights[(node, k)] = dict(row)

    def _add_function(self, name: str, fn) -> None:
        if not fn.calls:
            return
        for k in range(len(self.classes)):
            row: Dict[State, float] = defaultdict(float)
            for i, call in enumerate(fn.calls):
                rate = call.probability * call.count
                if rate <= 0:
                    continue
                address = self._parse(call.target)
                if address.kind == "table":  # only a write reaches the table's stream (if it has one)
                    if call.operation not in WRITE_OPERATIONS:
                        continue
                    address = Address("queue", f"stream:{address.name}")
                for k2, share in self.call_classes.get((name, i), [(k, 1.0)]):
                    for g, n in self.invocations(address.kind, address.name, k2).items():
                        row[(g, k2)] += rate * share * n
                        self.via[((name, k), (g, k2))].append(i)
            if row:
                self.weights[(name, k)] = dict(row)

    def invocations(self, kind: str, name: str, k: int) -> Dict[str, float]:
        """{function: expected invocations} that one item of class `k` sent to `kind:name` makes."""
        memo = (kind, name, k)
        if memo not in self._memo:
            out: Dict[str, float] = defaultdict(float)
            if kind == "function":
                out[name] += 1.0
            elif kind == "state_machine":  # an execution: a node of its own
                out[f"sfn:{name}"] += 1.0
            elif kind == "queue":
                for g in self._mapped.get(name, ()):
                    out[g] += 1.0
            elif kind == "topic":
                table = self._topic[name]
                for j, sub in enumerate(self.scenario.topics[name].subscriptions):
                    to = self._protocols.get(sub.protocol)
                    if table[k, j] and to in ("function", "queue"):
                        for g, n in self.invocations(to, sub.endpoint, k).items():
                            out[g] += n
            elif kind == "bus":
                table = self._bus[name]
                for j, rule in enumerate(self.scenario.buses[name].rules.values()):
                    if not table[k, j]:
                        continue
                    for tg in rule.targets:
                        a = self._parse(tg.target)
                        if a.kind in ("function", "queue", "state_machine"):
                            for g, n in self.invocations(a.kind, a.name, k).items():
                                out[g] += n
            # endpoints (and later kinds) invoke no function
            self._memo[memo] = dict(out)
        return self._memo[memo]

    def radius(self) -> float:
        """The spectral radius of the whole expected-calls matrix."""
        parts = worst_parts(self.weights)
        return parts[0][0] if parts else 0.0

    def runaways(self) -> List[Tuple[float, List[State]]]:
        """(radius, states) of every strongly connected part with radius ≥ 1 (within RADIUS_TOLERANCE)."""
        return [(r, comp) for r, comp in worst_parts(self.weights) if r >= 1.0 - RADIUS_TOLERANCE]


def _radius_text(r: float) -> str:
    """`r` to 3 significant digits, trailing zeros kept: 1.50, 1.00, 12.0, 150."""
    return np.format_float_positional(r, precision=3, unique=False, fractional=False, trim="k").rstrip(".")


def _and(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _cycle(start: str, members: set, edges: Mapping[str, Iterable[str]], order: Mapping[str, int]) -> List[str]:
    """The shortest cycle start → … → start among `members` (breadth first, successors in scenario order)."""
    parent: Dict[str, str] = {}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(edges.get(v, ()), key=order.__getitem__):
            if w not in members:
                continue
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1] + [start]
            if w not in parent:
                parent[w] = v
                queue.append(w)
    return [start, start]  # not reached: `members` is strongly connected


def runaway_problems(graph: CallGraph) -> List[Tuple[str, str]]:
    """(path, message) for every loop of calls whose expected descendants are infinite: one per set
    of functions (the classes it runs away for folded together), at `functions.F.calls` for F the
    loop's first function in scenario order."""
    from scenarios.yamlpath import index, key

    sc = graph.scenario
    order = {name: i for i, name in enumerate([*sc.functions, *graph.tasks])}  # functions, then sfn:NAME
    # per set of functions: the worst part (radius, states, a state of it) and every class that runs away
    loops: Dict[Tuple[str, ...], Tuple[float, List[State], State, set]] = {}
    for r, comp in graph.runaways():
        functions = tuple(sorted({f for f, _ in comp}, key=order.__getitem__))
        worst = loops.get(functions)
        runaway = (set() if worst is None else worst[3]) | {k for _, k in comp}
        if worst is None or r > worst[0]:
            worst = (r, comp, comp[0], runaway)
        loops[functions] = worst[:3] + (runaway,)
    out = []
    for functions, (r, comp, state, runaway) in sorted(loops.items(), key=lambda kv: order[kv[0][0]]):
        states = set(comp)
        edges: Dict[str, set] = defaultdict(set)
        via: Dict[Tuple[str, str], set] = defaultdict(set)  # the calls of f that lead to g inside this part
        for v in comp:
            for w in graph.weights.get(v, {}):
                if w in states:
                    edges[v[0]].add(w[0])
                    via[(v[0], w[0])].update(graph.via[(v, w)])
        first = functions[0]
        cycle = _cycle(first, set(functions), edges, order)
        calls, fanouts = [], []
        for u, v in zip(cycle, cycle[1:]):
            for i in sorted(via[(u, v)]):
                if u in graph.tasks:  # a state machine's Task
                    path, target = graph.tasks[u][i]
                    calls.append(f"{path} ({target})")
                else:
                    target = sc.functions[u].calls[i].target
                    calls.append(f"{index(key(key('functions', u), 'calls'), i)} ({target})")
                kind = target.partition(":")[0]
                if kind in ("topic", "bus"):
                    fanouts.append(f"the {'filter policies' if kind == 'topic' else 'event patterns'} of {target}")
        others = [_node(f) for f in functions if f not in cycle]
        loop = " → ".join(_node(f) for f in cycle) + (f" (and {_and(others)} on the same loop)" if others else "")
        carried = ""
        if len(runaway) < len(graph.classes):  # it runs away for some classes only: say which
            cls = graph.classes[state[1]]
            which = f"class {cls}" if cls else "the class without message attributes"
            carried = f" for items of {which}" if len(runaway) == 1 else \
                f" for items of {len(runaway)} of the {len(graph.classes)} message classes, such as {which}"
        narrow = f", or narrow {_and(list(dict.fromkeys(fanouts)))}," if fanouts else ""
        where = key("state_machines", first[4:]) if first in graph.tasks else key(key("functions", first), "calls")
        out.append((where,
                    f"the calls {loop} never end on average{carried}: each generation of invocations around the"
                    f" loop is {_radius_text(r)} times the last (the spectral radius of the expected-calls matrix;"
                    f" it must be below 1), so a request's expected descendants are infinite. Lower the"
                    f" probability or count of {_and(list(dict.fromkeys(calls)))}{narrow} until it is below 1"))
    for name, r in graph.endless:
        out.append((key("state_machines", name), f"its states loop without end on average: each pass around its"
                                                 f" Choice states' loop is {_radius_text(r)} times the last (the"
                                                 f" spectral radius of its transitions; it must be below 1); lower"
                                                 f" the probabilities in choices that lead back"))
    return out


def _node(name: str) -> str:
    """A node of the call graph as messages show it: a function's name, `state machine NAME`."""
    return f"state machine {name[4:]}" if name.startswith("sfn:") else name


def check_call_graph(sc) -> None:
    """Refuse, as a ScenarioError, a scenario whose call graph runs away (kernels/ACCOUNT_SPEC.md §9).

    The filters are compiled here as the builder compiles them (a bad one is the same
    ScenarioError, at its path); a scenario without calls costs nothing.
    """
    from scenarios.errors import ScenarioError
    from sim.messaging.wiring import compile_filters

    if not any(fn.calls for fn in sc.functions.values()) and not getattr(sc, "state_machines", None):
        return
    policies, patterns = compile_filters(sc)
    problems = runaway_problems(CallGraph(sc, policies, patterns))
    if problems:
        raise ScenarioError(problems)
