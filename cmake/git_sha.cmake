# Writes OUT with the current git sha of SRC and its commit time; rewrites only on change so nothing rebuilds needlessly.
execute_process(COMMAND git -C ${SRC} rev-parse --short=12 HEAD OUTPUT_VARIABLE sha
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR sha STREQUAL "")
  set(sha "unknown")
endif()
execute_process(COMMAND git -C ${SRC} status --porcelain --untracked-files=no OUTPUT_VARIABLE dirty ERROR_QUIET)
if(NOT dirty STREQUAL "")
  set(sha "${sha}-dirty")
endif()
# The commit's time orders runs in the history (scripts/history): commits, not run dates, are its x axis.
execute_process(COMMAND git -C ${SRC} log -1 --format=%cI OUTPUT_VARIABLE ctime OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
set(text "#pragma once\n#define PB_GIT_SHA \"${sha}\"\n#define PB_GIT_COMMIT_TIME \"${ctime}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE ${OUT} "${text}")
endif()
