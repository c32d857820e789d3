cmake_minimum_required(VERSION 3.25)
# Renders one man page: runs BINARY --help-man WHAT and puts its roff output
# in place of PLACEHOLDER in TEMPLATE, @VERSION@ likewise, and writes OUTPUT.
# cmake -DBINARY=... -DWHAT=options|config -DPLACEHOLDER=@OPTIONS@
#       -DTEMPLATE=....in -DOUTPUT=... -DVERSION=x.y.z -P render.cmake
foreach(v BINARY WHAT PLACEHOLDER TEMPLATE OUTPUT VERSION)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "render.cmake: ${v} not set")
  endif()
endforeach()
execute_process(COMMAND ${BINARY} --help-man ${WHAT}
                OUTPUT_VARIABLE roff ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR roff STREQUAL "")
  message(FATAL_ERROR "${BINARY} --help-man ${WHAT} failed (${rc}): ${err}")
endif()
file(READ ${TEMPLATE} page)
string(FIND "${page}" "${PLACEHOLDER}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TEMPLATE} has no ${PLACEHOLDER}")
endif()
string(REGEX REPLACE "\n$" "" roff "${roff}")
string(REPLACE "${PLACEHOLDER}" "${roff}" page "${page}")
string(REPLACE "@VERSION@" "${VERSION}" page "${page}")
file(WRITE ${OUTPUT}.tmp "${page}")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
