# Sourced by scripts/build and scripts/test: with ccache installed, `launcher` holds the CMake
# arguments that route compiles through it, so clones and worktrees of the repository on one
# machine share object files (paths are hashed relative to the directory holding the clones).
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
