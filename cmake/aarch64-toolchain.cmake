# Cross-compiling Forge (or a generated project) for AArch64 Linux with Debian's
# g++-aarch64-linux-gnu. Programs are linked statically so that qemu-aarch64
# (Debian's qemu-user) runs them with no AArch64 sysroot:
#
#   cmake -S . -B build-a64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-toolchain.cmake
#   qemu-aarch64 build-a64/some_program
#
# FORGE_AARCH64_CPU: the -march of the build (default armv8-a, plain NEON; give
# armv8.2-a+dotprod for the SDOT kernels).
# FORGE_AARCH64_DEPS: where the AArch64 builds of the tokenizer's libraries
# (libpcre2-8, libutf8proc, zlib: static archives and .pc files) are. Either
# Debian multiarch packages (libpcre2-dev:arm64 ...; the default,
# /usr/lib/aarch64-linux-gnu) or those packages unpacked under a prefix by
# tests/aarch64/unpack_arm64_deps.sh (then FORGE_AARCH64_DEPS=<prefix>).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

set(FORGE_AARCH64_CPU "armv8-a" CACHE STRING "-march for the AArch64 build")
set(FORGE_AARCH64_DEPS "" CACHE PATH "Prefix holding unpacked arm64 -dev packages (empty: multiarch /usr)")
# Try-compiles of the toolchain see these too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FORGE_AARCH64_CPU FORGE_AARCH64_DEPS)

set(CMAKE_C_FLAGS_INIT "-march=${FORGE_AARCH64_CPU}")
set(CMAKE_CXX_FLAGS_INIT "-march=${FORGE_AARCH64_CPU}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# Libraries and headers come from the cross toolchain and the arm64 packages
# only; programs (pkg-config, cmake helpers) from the host. Header-only
# dependencies (nlohmann-json, CLI11) are architecture-free: their CMake
# packages are found on the host.
if(FORGE_AARCH64_DEPS)
  set(_forge_a64_root "${FORGE_AARCH64_DEPS}/usr")
else()
  set(_forge_a64_root "/usr")
endif()
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config: only the arm64 .pc files (never the host's x86-64 libraries).
set(ENV{PKG_CONFIG_LIBDIR} "${_forge_a64_root}/lib/aarch64-linux-gnu/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
if(FORGE_AARCH64_DEPS)
  # The unpacked .pc files say prefix=/usr; point them at the unpacked tree.
  set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FORGE_AARCH64_DEPS}")
endif()

# qemu-user runs the test programs (static, so no -L sysroot is needed).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64)
