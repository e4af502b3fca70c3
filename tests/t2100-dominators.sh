#!/usr/bin/env bash
# t2100-dominators.sh — the graph core (analyze/graph/): dominator tree,
# retained sizes, reachability and paths, checked by build/tools/graphcheck
# (run under ASan + UBSan) against brute force and hand-made graphs.
#
# No case here is timed: "does not go quadratic" is shown by a million-long
# list finishing with the right answer inside the harness's patience; the
# speed itself is bench/graph's business.
. "$(dirname "$0")/lib.sh"

GC=$ROOT/build/tools/graphcheck

test_expect_success 'graphcheck is built' '
    test -x "$GC"
'

test_expect_success 'dominator trees of random graphs agree with brute force' '
    "$GC" random --count 300 --seed 1 --check dominators
'

test_expect_success 'Lengauer-Tarjan alone agrees with brute force' '
    "$GC" random --count 300 --seed 1 --check dominators --algo lt
'

test_expect_success 'semi-NCA alone, with no budget for its walk, agrees with brute force' '
    "$GC" random --count 300 --seed 1 --check dominators --algo snca-only
'

test_expect_success 'LT, semi-NCA alone and the default give identical idom and order arrays' '
    "$GC" random --count 300 --seed 11001 --check compare &&
    "$GC" random --count 20 --seed 12001 --max-nodes 20000 --check compare
'

test_expect_success 'adversarial shapes: lists, cycles, a 500,000-deep ladder, list+table, roots, islands, hubs' '
    "$GC" shapes 500000 >out &&
    for s in list cycle ladder listtable-small listtable multiroot unreachable-half hub random; do
        grep "^ok $s: " out || return 1
    done &&
    test $(grep -c "^ok " out) = 9
'

test_expect_success 'semi-NCA is the default, and hands over to LT on the list+table shape' '
    grep "^ok random: .*(default: semi-NCA)" out &&
    grep "^ok ladder: .*(default: semi-NCA)" out &&
    grep "^ok listtable: .*(default: Lengauer-Tarjan)" out
'

test_expect_success 'retained sizes are dominated-set sums; the root retains all it reaches' '
    "$GC" random --count 300 --seed 1001 --check retained
'

test_expect_success 'the CSR holds exactly the edge list, forward and reverse' '
    "$GC" random --count 200 --seed 2001 --check build
'

test_expect_success 'reachability from random root sets agrees with brute force' '
    "$GC" random --count 300 --seed 3001 --check reach
'

test_expect_success 'shortest paths are real paths as short as a plain BFS finds' '
    "$GC" random --count 200 --seed 4001 --check path
'

test_expect_success 'disjoint paths are valid, share no interior node, and miss none' '
    "$GC" random --count 200 --seed 5001 --check disjoint
'

test_expect_success 'all checks together on further seeds' '
    "$GC" random --count 200 --seed 9001 --check all
'

test_expect_success 'larger random graphs (up to 3,000 nodes) agree with brute force too' '
    "$GC" random --count 20 --seed 7001 --max-nodes 3000 --check all
'

test_expect_success 'a 1,000,000-long linked list completes by either algorithm: idom of node i is i-1' '
    "$GC" chain 1000000 >out &&
    grep "^ok chain of 1000000.*(semi-NCA)" out &&
    "$GC" chain 1000000 --algo lt >out &&
    grep "^ok chain of 1000000.*(Lengauer-Tarjan)" out
'

test_expect_success 'a long list whose payloads a table also holds completes with root idoms, by LT' '
    "$GC" listtable 1000000 >out &&
    grep "^ok list of 1000000.*(Lengauer-Tarjan)" out
'

test_expect_success 'unreachable nodes get no idom and retain nothing' '
    "$GC" unreachable
'

test_expect_success 'an unknown check name is a usage error, not a pass' '
    test_must_fail "$GC" random --check nonsense 2>err &&
    grep usage err
'

test_done
