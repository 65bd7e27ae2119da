# cmake/Packaging.cmake - the Debian package (README.md, "Install and run as a
# service"; docs/packaging.md).  `scripts/package` configures a release tree
# with CMAKE_INSTALL_PREFIX=/usr and CMAKE_INSTALL_SYSCONFDIR=/etc and runs
# `cpack -G DEB` there: build/pmirrord_VERSION_ARCH.deb.  A sanitized build is
# never packaged (its binaries would need libasan and could not lock memory).
if(PM_SANITIZE OR PM_FUZZ)
  return()
endif()

set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "pmirrord")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "pmirrord maintainers <maintainers@users.noreply.r-seed-d30c3a00.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "secure packet-mirroring agent (Juniper-PACKET-MIRROR-MIB over AgentX)")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME "DEB-DEFAULT") # pmirrord_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION "net")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# The long description (CPack puts the summary above it and indents each line).
set(CPACK_PACKAGE_DESCRIPTION
    "pmirrord mirrors targeted subscribers' packets to an analyzer as jmirror
datagrams and reports every mirroring event as an SNMPv3 authPriv
notification of Juniper-PACKET-MIRROR-MIB, as JUNOSe's secure packet
mirroring does.  It learns subscriber sessions from captured RADIUS and
DHCP, runs as a root monitor, an unprivileged AgentX subagent and a
sandboxed capture process, and keeps its evidence in locked memory.

The service is enabled but not started on installation: configure
/etc/pmirrord/pmirrord.conf first, then start it with systemctl.")
# The libraries the binaries link (dpkg-shlibdeps, from dpkg-dev), plus
# adduser for the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "snmpd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "snmp, snmptrapd, snmp-mibs-downloader")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    "${CMAKE_SOURCE_DIR}/dist/debian/conffiles;${CMAKE_SOURCE_DIR}/dist/debian/postinst;${CMAKE_SOURCE_DIR}/dist/debian/prerm;${CMAKE_SOURCE_DIR}/dist/debian/postrm")
include(CPack)
