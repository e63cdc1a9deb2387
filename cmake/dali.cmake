# The installed DALI (when building the plugin): its version, include and library folders, its
# CUDA version and major, and its wheel's name. Sets DSM_DALI_*.
set(DSM_DALI_VERSION "")
set(DSM_DALI_CUDA_VERSION "")
set(DSM_DALI_CUDA_MAJOR "")
set(DSM_DALI_DISTRIBUTION "")
if(DSM_BUILD_DALI_PLUGIN)
  # DALI 2.4 exposes nvidia.dali.__cuda_version__, the digits of its CUDA version joined (12986
  # for 12.9.86; DALI reads the major as the first two digits, and so do we); its wheel is named
  # nvidia-dali-cuda120 or nvidia-dali-cuda130, which gives the major too.
  execute_process(
    COMMAND "${DSM_PYTHON}" -c [=[
import importlib.metadata as m, re
import nvidia.dali as d, nvidia.dali.sysconfig as s
names = [x.metadata["Name"] for x in m.distributions()]
names = sorted({n for n in names if n and re.fullmatch(r"nvidia-dali-cuda\d+", n.lower())})
cuda = str(getattr(d, "__cuda_version__", ""))
major = str(int(cuda[:2])) if cuda.isdigit() and len(cuda) >= 3 else ""
if not major and names:
    major = re.fullmatch(r"nvidia-dali-cuda(\d+?)\d", names[0].lower()).group(1)
print(d.__version__); print(s.get_include_dir()); print(s.get_lib_dir())
print(cuda); print(major); print(",".join(names)); print("end")  # "end": no line is stripped
]=]
    OUTPUT_VARIABLE DSM_DALI_INFO RESULT_VARIABLE DSM_DALI_RC ERROR_VARIABLE DSM_DALI_ERR
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT DSM_DALI_RC EQUAL 0)
    message(FATAL_ERROR "dali-saliencymix: cannot import nvidia.dali with ${DSM_PYTHON}. Install "
      "nvidia-dali-cuda120 (or -cuda130) first, or configure with -DDSM_BUILD_DALI_PLUGIN=OFF "
      "for the kernels only.\n${DSM_DALI_ERR}")
  endif()
  string(REPLACE "\n" ";" DSM_DALI_INFO "${DSM_DALI_INFO}")
  list(GET DSM_DALI_INFO 0 DSM_DALI_VERSION)
  list(GET DSM_DALI_INFO 1 DSM_DALI_INCLUDE_DIR)
  list(GET DSM_DALI_INFO 2 DSM_DALI_LIB_DIR)
  list(GET DSM_DALI_INFO 3 DSM_DALI_CUDA_VERSION)
  list(GET DSM_DALI_INFO 4 DSM_DALI_CUDA_MAJOR)
  list(GET DSM_DALI_INFO 5 DSM_DALI_DISTRIBUTION)
  message(STATUS "dali-saliencymix: building the plugin against DALI ${DSM_DALI_VERSION} "
    "(${DSM_DALI_DISTRIBUTION}, CUDA ${DSM_DALI_CUDA_MAJOR}) in ${DSM_DALI_LIB_DIR}")
endif()

