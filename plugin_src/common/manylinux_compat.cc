// manylinux_2_28: the libraries run on glibc 2.28 and GCC 8's libstdc++ (RHEL 8 and newer), as
// DALI's own wheels do, although they are built on a newer system (here: glibc 2.36, GCC 12).
//
// A newer build system makes the linker bind a few symbols to versions that older systems lack:
// - glibc 2.34 moved libpthread, libdl and librt into libc, with new symbol versions; the CUDA
//   runtime (cudart_static) calls pthread_*, dl*, sem_* and shm_* and so binds to those. libc
//   keeps each one under its old version too (the same code), and the definitions below forward
//   to that old version (.symver), so that the libraries ask for GLIBC_2.2.5 (2.3.4) instead.
// - libstdc++'s headers of GCC 11+ read __libc_single_threaded (glibc 2.32); here it is our own,
//   hidden and 0 ("not single-threaded": reference counts always use atomics, which is safe).
// - GCC 12's headers in C++20 call libstdc++ functions that GCC 8's lacks: std::stringbuf's
//   ref-qualified str() and std::stringstream's default constructor (DALI's make_string), and
//   std::__throw_bad_array_new_length (std::allocator). They are defined here, hidden, through
//   the older functions that do the same.
// Every definition is hidden: nothing here is exported or replaces anything outside this
// library. tests/test_install.py checks the built libraries' symbol versions against
// manylinux_2_28 and names any symbol that asks for more.
//
// Only for x86-64 Linux with glibc (the versions named are x86-64's); elsewhere, empty.
#include <ios>  // (and, through it, <features.h>, which defines __GLIBC__)
#include <new>
#include <sstream>
#include <string>

#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)

// Built against glibc 2.34+ (where these moved into libc with new versions): forward `name` to
// glibc's `name@version`. CMakeLists.txt names libpthread, libdl and librt as dependencies, which
// hold these functions before glibc 2.34 (and are empty stubs after).
#if __GLIBC_PREREQ(2, 34)
#define DSM_GLIBC_FORWARDERS 1
#define DSM_GLIBC_OLD_VERSION(name, version)                                   \
  __asm__(".pushsection .text\n"                                              \
          ".globl " #name "\n"                                                \
          ".hidden " #name "\n"                                               \
          ".type " #name ", @function\n" #name ":\n"                          \
          "  jmp dsm_glibc_" #name "@PLT\n"                                   \
          ".symver dsm_glibc_" #name ", " #name "@" version "\n"              \
          ".popsection\n");

DSM_GLIBC_OLD_VERSION(dlclose, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(dlerror, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(dlmopen, "GLIBC_2.3.4")
DSM_GLIBC_OLD_VERSION(dlopen, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(dlsym, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(dlvsym, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_condattr_setpshared, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_create, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_detach, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_getspecific, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_join, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_key_create, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_key_delete, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_kill, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_mutex_trylock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_mutexattr_destroy, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_mutexattr_init, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_mutexattr_setpshared, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_mutexattr_settype, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_once, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_destroy, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_init, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_rdlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_timedrdlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_timedwrlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_tryrdlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_trywrlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_unlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlock_wrlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlockattr_destroy, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlockattr_init, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_rwlockattr_setpshared, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_setspecific, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_spin_destroy, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_spin_init, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_spin_lock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_spin_trylock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(pthread_spin_unlock, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(sem_destroy, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(sem_init, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(sem_post, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(sem_timedwait, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(sem_trywait, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(sem_wait, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(shm_open, "GLIBC_2.2.5")
DSM_GLIBC_OLD_VERSION(shm_unlink, "GLIBC_2.2.5")
#endif

#if __GLIBC_PREREQ(2, 32)
extern "C" __attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
#endif

#if defined(_GLIBCXX_RELEASE) && _GLIBCXX_RELEASE >= 11
// This file is compiled as C++17 (CMakeLists.txt), where std::stringbuf::str() is the
// unqualified const member of GCC 8's libstdc++, and std::stringstream is constructed with an
// explicit open mode.
extern "C" {
// std::__cxx11::basic_stringbuf<char>::str() const & (GCC 11+, C++20): a member function
// returning a class by value takes the result's address first and `this` second, as a function
// whose first parameter is `self`; so this definition is that member function.
__attribute__((visibility("hidden"))) std::string
_ZNKRSt7__cxx1115basic_stringbufIcSt11char_traitsIcESaIcEE3strEv(const std::stringbuf *self) {
  return self->str();
}

// std::__cxx11::basic_stringstream<char>::basic_stringstream() (GCC 9+).
__attribute__((visibility("hidden"))) void
_ZNSt7__cxx1118basic_stringstreamIcSt11char_traitsIcESaIcEEC1Ev(std::stringstream *self) {
  new (self) std::stringstream(std::ios_base::in | std::ios_base::out);
}
}

namespace std {
// std::__throw_bad_array_new_length() (GCC 11+). libstdc++ declares namespace std with default
// visibility, which wins over the attribute: the assembler directive below hides it for sure.
[[noreturn]] __attribute__((visibility("hidden"))) void __throw_bad_array_new_length() {
  throw std::bad_array_new_length();
}
}  // namespace std
__asm__(".hidden _ZSt28__throw_bad_array_new_lengthv");
#endif  // _GLIBCXX_RELEASE >= 11

#endif
