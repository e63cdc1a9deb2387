// DSM_TARGET_CLONES: hot CPU loops get AVX-512 and AVX2 clones on x86-64, picked at load time by
// the CPU (GCC's and Clang's target_clones, through an ifunc). Every clone does plain IEEE
// arithmetic: no FMA contraction (-ffp-contract=off, see CMakeLists.txt), so all clones give the
// same bits. Elsewhere (aarch64, other compilers) the loops are compiled once for the target's
// baseline and the macro is empty.
#pragma once

#if defined(__x86_64__) && defined(__linux__) && \
    ((defined(__GNUC__) && !defined(__clang__)) || (defined(__clang__) && __clang_major__ >= 14))
#define DSM_TARGET_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define DSM_TARGET_CLONES
#endif
