# Run at every build (cmake -P, from harness/cli/CMakeLists.txt): writes
# rt_version.c with the commit the source tree is at, so that
# `ratchet --version` names what it was built from. The file is replaced
# only when its text changes: an unchanged commit relinks nothing.
# In: SRC (the source tree), OUT (the file), GIT (git, or empty).
# The commit is "unknown" without git or outside a git work tree (a tarball
# unpacked inside some other repository is outside: the top must be SRC),
# and ends in "-dirty" when tracked files differ from it.
set(commit "unknown")
if(GIT)
  execute_process(COMMAND ${GIT} -C ${SRC} rev-parse --show-toplevel
                  OUTPUT_VARIABLE top RESULT_VARIABLE rc
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  file(REAL_PATH "${SRC}" src_real)
  if(rc EQUAL 0 AND NOT top STREQUAL "")
    file(REAL_PATH "${top}" top)
  endif()
  if(rc EQUAL 0 AND top STREQUAL src_real)
    execute_process(COMMAND ${GIT} -C ${SRC} rev-parse --short=12 HEAD
                    OUTPUT_VARIABLE head RESULT_VARIABLE rc
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    execute_process(COMMAND ${GIT} -C ${SRC} status --porcelain --untracked-files=no
                    OUTPUT_VARIABLE changes ERROR_QUIET)
    if(rc EQUAL 0 AND NOT head STREQUAL "")
      set(commit "${head}")
      if(NOT changes STREQUAL "")
        string(APPEND commit "-dirty")
      endif()
    endif()
  endif()
endif()
file(WRITE ${OUT}.new "/* Written by harness/cli/version.cmake at build time. */\n"
     "#include \"cli.h\"\n\nconst char rt_cmd_commit[] = \"${commit}\";\n")
file(COPY_FILE ${OUT}.new ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.new)
