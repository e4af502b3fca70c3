#!/usr/bin/env bash
# t4110-demangle.sh — C++ class names from vtable and typeinfo symbols
# (analyze/types/demangle.c) are spelled exactly as c++filt spells them.
. "$(dirname "$0")/lib.sh"

DEMANGLE=$ROOT/build/tools/demangle
LIBSTDCXX=$(g++ -print-file-name=libstdc++.so)

test_expect_success 'every _ZTV and _ZTI symbol of libstdc++ demangles as c++filt demangles it' '
    nm -D --defined-only "$LIBSTDCXX" | awk "{print \$3}" | sed "s/@.*//" | grep -E "^_ZT[VI]" | sort -u >syms &&
    test $(wc -l <syms) -gt 300 &&
    "$DEMANGLE" <syms >ours &&
    c++filt <syms >theirs &&
    test_cmp theirs ours
'

test_expect_success 'nested, std:: and template class names come out whole' '
    printf "%s\n" _ZTV3Foo _ZTVN2ns3BarE _ZTVSt9exception _ZTV3BoxIiE _ZTIN2ns6HolderIN3zoo3DogEEE >syms &&
    "$DEMANGLE" <syms >ours &&
    printf "%s\n" "vtable for Foo" "vtable for ns::Bar" "vtable for std::exception" \
        "vtable for Box<int>" "typeinfo for ns::Holder<zoo::Dog>" >want &&
    test_cmp want ours
'

test_expect_success 'a symbol that is not a vtable or typeinfo, or does not demangle, gives no class' '
    printf "%s\n" _Z3foov main _ZTS3Foo _ZTV _ZTVN2ns >syms &&
    "$DEMANGLE" <syms >ours &&
    printf -- "-\n-\n-\n-\n-\n" >want &&
    test_cmp want ours
'

test_done
