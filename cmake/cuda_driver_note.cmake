# What the build log says about the CUDA code: the compiler used (and where it came from), the
# NVIDIA driver its code needs (DSM_CUDA_DRIVER_REQUIRED), and, when nvcc and DALI differ in CUDA
# major, what that means.

# The oldest NVIDIA driver (Linux release) of each CUDA major: code built by a CUDA 12 nvcc runs
# on drivers >= 525, by a CUDA 13 nvcc on drivers >= 580 (CUDA's minor-version compatibility).
set(DSM_MIN_DRIVER_12 525)
set(DSM_MIN_DRIVER_13 580)
set(DSM_CUDA_DRIVER_REQUIRED "${DSM_MIN_DRIVER_${DSM_CUDA_MAJOR}}")
if(NOT DSM_CUDA_DRIVER_REQUIRED)
  set(DSM_CUDA_DRIVER_REQUIRED "a driver for CUDA ${DSM_CUDA_MAJOR}")
endif()
set(DSM_SOURCE_WORDS_given "given by CMAKE_CUDA_COMPILER or CUDACXX")
set(DSM_SOURCE_WORDS_system "the system's")
set(DSM_SOURCE_WORDS_pypi "the CUDA toolchain from PyPI")
message(STATUS "dali-saliencymix: CUDA compiler ${CMAKE_CUDA_COMPILER} (nvcc "
  "${CMAKE_CUDA_COMPILER_VERSION}, ${DSM_SOURCE_WORDS_${DSM_CUDA_COMPILER_SOURCE}}); its code "
  "needs an NVIDIA driver >= ${DSM_CUDA_DRIVER_REQUIRED} (CUDA ${DSM_CUDA_MAJOR})")

# The plugin runs inside DALI's process: say what it means when nvcc and DALI differ in CUDA
# major (a warning when the compiler was given or is the system's; a note for PyPI's CUDA 13
# toolchain, the documented choice where no nvcc of DALI's major is installed).
if(DSM_BUILD_DALI_PLUGIN AND DSM_DALI_CUDA_MAJOR AND
   NOT DSM_CUDA_MAJOR STREQUAL DSM_DALI_CUDA_MAJOR)
  if(DSM_CUDA_MAJOR GREATER DSM_DALI_CUDA_MAJOR)
    set(DSM_CUDA_MEANING "the plugin's CUDA code needs an NVIDIA driver for CUDA "
      "${DSM_CUDA_MAJOR} (>= ${DSM_CUDA_DRIVER_REQUIRED}) even inside DALI's CUDA "
      "${DSM_DALI_CUDA_MAJOR} build, which itself runs on any CUDA ${DSM_DALI_CUDA_MAJOR} "
      "driver. On an older driver the GPU operators refuse to start, with a message (the CPU "
      "operators still work). Code from nvcc ${DSM_DALI_CUDA_MAJOR} runs on every driver "
      "that runs this DALI.")
  else()  # (no semicolons in these sentences: the variable is a list of its pieces)
    set(DSM_CUDA_MEANING "the plugin's CUDA code (CUDA ${DSM_CUDA_MAJOR}) runs on the driver "
      "that DALI's CUDA ${DSM_DALI_CUDA_MAJOR} build needs (drivers run older CUDA code), but "
      "it has no machine code for GPUs that only CUDA ${DSM_DALI_CUDA_MAJOR} knows.")
  endif()
  set(DSM_NOTE_KIND WARNING)
  if(DSM_CUDA_COMPILER_SOURCE STREQUAL "pypi")
    set(DSM_NOTE_KIND STATUS)
  endif()
  message(${DSM_NOTE_KIND} "dali-saliencymix: nvcc is CUDA ${CMAKE_CUDA_COMPILER_VERSION} "
    "(${CMAKE_CUDA_COMPILER}), but the installed DALI ${DSM_DALI_VERSION} "
    "(${DSM_DALI_DISTRIBUTION}) is built for CUDA ${DSM_DALI_CUDA_MAJOR}.\n"
    "What it means: " ${DSM_CUDA_MEANING} "\n"
    "To choose: put an nvcc of CUDA ${DSM_DALI_CUDA_MAJOR} first on the PATH, or set "
    "CMAKE_CUDA_COMPILER (or CUDACXX) to it, e.g. CUDACXX=/usr/local/cuda-"
    "${DSM_DALI_CUDA_MAJOR}/bin/nvcc pip install . -- or install the DALI wheel for CUDA "
    "${DSM_CUDA_MAJOR} (nvidia-dali-cuda${DSM_CUDA_MAJOR}0) -- or build without CUDA kernels "
    "(DSM_CUDA=OFF pip install ., CPU operators only). Building on as configured.")
endif()
