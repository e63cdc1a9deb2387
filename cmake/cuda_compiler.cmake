# Chooses the CUDA compiler of the build, before enable_language(CUDA), in this order:
#   1. CMAKE_CUDA_COMPILER or the CUDACXX environment variable, when set        ("given");
#   2. a system nvcc (PATH, CUDA_HOME, CUDA_PATH, /usr/local/cuda) of DALI's CUDA major ("system");
#   3. the CUDA 13 toolchain from PyPI (nvidia-cuda-nvcc, -crt, -runtime, -cccl, nvidia-nvvm) in
#      DSM_PYTHON's environment, or at DSM_CUDA_TOOLCHAIN_ROOT                   ("pypi");
#   4. a system nvcc of another CUDA major (CMake then warns what that means)   ("system").
# Nothing found: no CUDA kernels (DSM_CUDA=AUTO), or an error (DSM_CUDA=ON).
# Sets DSM_CUDA_COMPILER_SOURCE ("given", "system", "pypi" or "" when none was found) and, for a
# PyPI toolchain, CMAKE_CUDA_COMPILER, CUDAToolkit_ROOT and what its layout needs: its libraries
# are in lib/ (nvcc.profile looks in lib64/) and it has no libcudart.so link, which
# FindCUDAToolkit looks for, so the build folder gets one.

set(DSM_CUDA_TOOLCHAIN_ROOT "" CACHE PATH
  "A CUDA toolchain tree from PyPI (nvidia/cu13: bin include lib nvvm); default: DSM_PYTHON's")

# The CUDA major of an nvcc ("" when it does not run).
function(dsm_nvcc_major nvcc out)
  execute_process(COMMAND "${nvcc}" --version OUTPUT_VARIABLE text ERROR_QUIET
    RESULT_VARIABLE rc)
  set(major "")
  if(rc EQUAL 0 AND text MATCHES "release ([0-9]+)\\.")
    set(major "${CMAKE_MATCH_1}")
  endif()
  set(${out} "${major}" PARENT_SCOPE)
endfunction()

# The PyPI toolchain tree in DSM_PYTHON's environment ("" when it is not installed there).
function(dsm_pypi_cuda_root out)
  set(root "${DSM_CUDA_TOOLCHAIN_ROOT}")
  if(NOT root AND DSM_PYTHON)
    execute_process(
      COMMAND "${DSM_PYTHON}" -c [=[
import importlib.util as u
try:
    spec = u.find_spec("nvidia.cu13")
except ModuleNotFoundError:
    spec = None
print(list(spec.submodule_search_locations)[0] if spec and spec.submodule_search_locations else "")
]=]
      OUTPUT_VARIABLE root OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  endif()
  if(root AND NOT EXISTS "${root}/bin/nvcc")
    set(root "")
  endif()
  set(${out} "${root}" PARENT_SCOPE)
endfunction()

# Use the PyPI toolchain at `root`.
macro(dsm_use_pypi_cuda root)
  set(CMAKE_CUDA_COMPILER "${root}/bin/nvcc" CACHE FILEPATH "CUDA compiler" FORCE)
  set(CUDAToolkit_ROOT "${root}")
  set(DSM_PYPI_CUDA_LIB "${CMAKE_BINARY_DIR}/pypi-cuda/lib")
  file(MAKE_DIRECTORY "${DSM_PYPI_CUDA_LIB}")
  file(GLOB DSM_PYPI_CUDART "${root}/lib/libcudart.so.*")
  list(GET DSM_PYPI_CUDART 0 DSM_PYPI_CUDART)
  file(CREATE_LINK "${DSM_PYPI_CUDART}" "${DSM_PYPI_CUDA_LIB}/libcudart.so" SYMBOLIC)
  list(APPEND CMAKE_LIBRARY_PATH "${DSM_PYPI_CUDA_LIB}" "${root}/lib")
  string(APPEND CMAKE_CUDA_FLAGS " -L${root}/lib")
  set(DSM_CUDA_COMPILER_SOURCE "pypi")
endmacro()

function(dsm_find_system_nvccs out)
  set(found "")
  foreach(dir IN ITEMS "$ENV{CUDA_HOME}" "$ENV{CUDA_PATH}" "/usr/local/cuda")
    if(dir AND EXISTS "${dir}/bin/nvcc")
      list(APPEND found "${dir}/bin/nvcc")
    endif()
  endforeach()
  find_program(DSM_PATH_NVCC nvcc NO_CACHE)
  if(DSM_PATH_NVCC)
    list(PREPEND found "${DSM_PATH_NVCC}")
  endif()
  list(REMOVE_DUPLICATES found)
  set(${out} "${found}" PARENT_SCOPE)
endfunction()

# This file's own choice is remembered (DSM_CUDA_COMPILER_CHOSEN): a CMAKE_CUDA_COMPILER equal to it
# on a later configure of the same build folder is not "given", and the choice is made again (a
# PyPI toolchain lives in pip's build environment, which moves from build to build).
set(DSM_CUDA_COMPILER_CHOSEN "" CACHE INTERNAL "The CUDA compiler cmake/cuda_compiler.cmake chose")
set(DSM_CUDA_COMPILER_SOURCE "")
if(NOT "$ENV{CUDACXX}" STREQUAL "" OR
   (CMAKE_CUDA_COMPILER AND NOT CMAKE_CUDA_COMPILER STREQUAL DSM_CUDA_COMPILER_CHOSEN))
  set(DSM_CUDA_COMPILER_SOURCE "given")
else()
  set(DSM_WANTED_CUDA_MAJOR "${DSM_DALI_CUDA_MAJOR}")
  dsm_find_system_nvccs(DSM_SYSTEM_NVCCS)
  set(DSM_OTHER_NVCC "")
  foreach(nvcc IN LISTS DSM_SYSTEM_NVCCS)
    dsm_nvcc_major("${nvcc}" major)
    if(major AND (NOT DSM_WANTED_CUDA_MAJOR OR major STREQUAL DSM_WANTED_CUDA_MAJOR))
      set(CMAKE_CUDA_COMPILER "${nvcc}" CACHE FILEPATH "CUDA compiler" FORCE)
      set(DSM_CUDA_COMPILER_SOURCE "system")
      break()
    elseif(major AND NOT DSM_OTHER_NVCC)
      set(DSM_OTHER_NVCC "${nvcc}")
    endif()
  endforeach()
  if(NOT DSM_CUDA_COMPILER_SOURCE)
    dsm_pypi_cuda_root(DSM_PYPI_CUDA_ROOT)
    if(DSM_PYPI_CUDA_ROOT)
      dsm_use_pypi_cuda("${DSM_PYPI_CUDA_ROOT}")
    elseif(DSM_OTHER_NVCC)
      set(CMAKE_CUDA_COMPILER "${DSM_OTHER_NVCC}" CACHE FILEPATH "CUDA compiler" FORCE)
      set(DSM_CUDA_COMPILER_SOURCE "system")
    else()
      unset(CMAKE_CUDA_COMPILER CACHE)  # a former choice that is gone
    endif()
  endif()
  set(DSM_CUDA_COMPILER_CHOSEN "${CMAKE_CUDA_COMPILER}" CACHE INTERNAL
    "The CUDA compiler cmake/cuda_compiler.cmake chose")
endif()
