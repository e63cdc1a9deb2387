# The default CUDA architectures (when neither CMAKE_CUDA_ARCHITECTURES nor CUDAARCHS is given),
# once the compiler is known: sets CMAKE_CUDA_ARCHITECTURES.
if(DSM_DEFAULT_CUDA_ARCHS)
  # Default: what DALI's own wheels are built for, as machine code, plus the GPUs in between
  # that deserve their own machine code, each only where this nvcc supports it, and PTX of the
  # newest for GPUs to come. Based on DALI's cmake/CUDA_utils.cmake (CUDA_known_archs for
  # x86_64: 35 50 60 70 80 90 100 110 120, "only major arch as minor should be compatible
  # without JITing", 75 prepended for CUDA 13, each kept only if nvcc accepts it, last one also
  # as PTX). sm_35 is left out (no CUDA 12 or 13 nvcc has it); 75 (Turing), 86 and 89
  # (Ampere and Ada consumer GPUs) are added. So: nvcc 12.0-12.7 gives 50 60 70 75 80 86 89
  # 90 + PTX 90; nvcc 12.8/12.9 adds Blackwell 100 and 120 (PTX 120); nvcc 13 (which dropped
  # sm < 75) gives 75 80 86 89 90 100 110 120 + PTX 120.
  set(DSM_CANDIDATE_ARCHS 50 60 70 75 80 86 89 90 100 110 120)
  # CMAKE_CUDA_ARCHITECTURES_ALL: what this nvcc supports (CMake >= 3.23), e.g. "75-real;...".
  set(DSM_NVCC_ARCHS ${CMAKE_CUDA_ARCHITECTURES_ALL})
  list(TRANSFORM DSM_NVCC_ARCHS REPLACE "-(real|virtual)$" "")
  set(DSM_ARCHS "")
  set(DSM_NEWEST_ARCH "")
  foreach(arch IN LISTS DSM_CANDIDATE_ARCHS)
    if(arch IN_LIST DSM_NVCC_ARCHS)
      list(APPEND DSM_ARCHS "${arch}-real")
      set(DSM_NEWEST_ARCH "${arch}")
    endif()
  endforeach()
  if(DSM_NEWEST_ARCH)
    list(APPEND DSM_ARCHS "${DSM_NEWEST_ARCH}-virtual")
    set(CMAKE_CUDA_ARCHITECTURES "${DSM_ARCHS}" CACHE STRING
      "CUDA architectures (dali-saliencymix default: DALI's list for this toolkit)" FORCE)
  endif()
endif()
