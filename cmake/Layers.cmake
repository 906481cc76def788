# One library per folder under src/, and the direction of dependencies between
# them is declared here, once. atrium_library() refuses a link that this table
# does not allow, so a layering violation fails at configure time.
#
#   base <- matrix <- store <- homeserver <- app
#   base <- net    <-------------/          /
#   base, net, matrix, store <- rtcauth <--/
#   base <- media   (leaf: the SFU's transport; knows no rooms, signalling or Matrix)
#   base, media <- sfu   (rooms, tracks, forwarding; no HTTP, no Matrix)
#   base, net, media, sfu <- livekit   (LiveKit's protocol: tokens, signalling, Twirp)
#   livekit_proto <- livekit   (generated protobuf code only; links nothing of ours)
#   rtcauth -> livekit   (the auth service mints LiveKit tokens)
set(ATRIUM_ALLOWED_base "")
set(ATRIUM_ALLOWED_net base)
set(ATRIUM_ALLOWED_matrix base)
set(ATRIUM_ALLOWED_store base matrix)
set(ATRIUM_ALLOWED_homeserver base net matrix store)
set(ATRIUM_ALLOWED_rtcauth base net matrix store livekit)
set(ATRIUM_ALLOWED_media base)
set(ATRIUM_ALLOWED_sfu base media)
set(ATRIUM_ALLOWED_livekit_proto "")
set(ATRIUM_ALLOWED_livekit base net media sfu livekit_proto)
set(ATRIUM_ALLOWED_app base net matrix store homeserver rtcauth media sfu livekit)

# atrium_library(NAME SOURCES ... DEPS <atrium libs> EXTERNAL <other targets>)
function(atrium_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;EXTERNAL" ${ARGN})
  if(NOT DEFINED ATRIUM_ALLOWED_${name})
    message(FATAL_ERROR "atrium library '${name}' has no entry in cmake/Layers.cmake")
  endif()
  foreach(dep IN LISTS ARG_DEPS)
    if(NOT dep IN_LIST ATRIUM_ALLOWED_${name})
      message(FATAL_ERROR "layering: '${name}' may not depend on '${dep}' (see cmake/Layers.cmake)")
    endif()
  endforeach()
  add_library(atrium_${name} STATIC ${ARG_SOURCES})
  add_library(atrium::${name} ALIAS atrium_${name})
  target_include_directories(atrium_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  list(TRANSFORM ARG_DEPS PREPEND atrium::)
  target_link_libraries(atrium_${name} PUBLIC ${ARG_DEPS} ${ARG_EXTERNAL})
endfunction()
