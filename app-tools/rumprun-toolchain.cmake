# CMake toolchain file for rumprun: cmake -DCMAKE_TOOLCHAIN_FILE=<this file>
#
# C is compiled by rumprun-cc (gcc against Debian's musl: a C program links
# into an unbaked app); C++ by rumprun-c++ (zig's clang, libc++ and musl: a
# C++ program links into a static executable).  Either kind of result goes
# to rumprun-bake as it is.  The tools are looked up on PATH (a virtual
# environment's bin/, pipx's ~/.local/bin), or beside this file's install.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

find_program(RUMPRUN_CC NAMES x86_64-rumprun-linux-musl-gcc rumprun-cc REQUIRED)
find_program(RUMPRUN_CXX NAMES x86_64-rumprun-linux-musl-g++ rumprun-c++)
set(CMAKE_C_COMPILER ${RUMPRUN_CC})
if(RUMPRUN_CXX)
  set(CMAKE_CXX_COMPILER ${RUMPRUN_CXX})
endif()

# A unikernel program is always static; nothing of the host's libraries
# belongs in it.
set(BUILD_SHARED_LIBS OFF CACHE BOOL "rumprun links statically")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
