# Builds and installs libhamux for C hosts (README, "Installing").
#
#   make                                   cargo build --release -p hamux --lib
#   make install PREFIX=/usr/local DESTDIR=  lib/libhamux.so.X.Y.Z (+ soname and dev links),
#                                          lib/libhamux.a, include/hamux.h,
#                                          lib/pkgconfig/hamux.pc
#   make uninstall PREFIX=... DESTDIR=...  removes exactly those files
#   make install PROFILE=debug             installs a debug build instead
#   make install NO_BUILD=1 LIB_DIR=dir    installs dir/libhamux.{so,a} without running cargo
#                                          (tests/install.rs: the library of its own test run)
#   make native-static-libs                what rustc says a static link needs (Libs.private)
#   make kea                               the Kea 2.2 hook: $(KEA_OUT)/libdhcp_hamux.so, with
#                                          libhamux.a linked in (needs kea-dev, libboost-dev);
#                                          NO_BUILD=1 LIB_DIR=dir links dir/libhamux.a
#   make install                           also installs the hook into $(KEA_HOOKS_DIR) when
#                                          Kea's headers are there (KEA_INCLUDE)

PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

CARGO ?= cargo
PROFILE ?= release
CARGO_TARGET_DIR ?= target
CARGO_PROFILE_FLAG := $(if $(filter release,$(PROFILE)),--release,$(if $(filter debug dev,$(PROFILE)),,--profile $(PROFILE)))
PROFILE_DIR := $(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
LIB_DIR ?= $(CARGO_TARGET_DIR)/$(PROFILE_DIR)
NO_BUILD ?=

INSTALL ?= install
READELF ?= readelf

# The version of [package] in Cargo.toml; the soname build.rs gives the library:
# libhamux.so.0.<minor> for 0.x, libhamux.so.<major> from 1.0 on.
VERSION := $(shell sed -n '/^\[package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
SOVERSION := $(shell echo '$(VERSION)' | awk -F. '{ print ($$1 == 0 ? $$1 "." $$2 : $$1) }')
SONAME := libhamux.so.$(SOVERSION)
REALNAME := libhamux.so.$(VERSION)

# System libraries the static library needs, as `make native-static-libs` reports them
# for x86_64/aarch64-unknown-linux-gnu; hamux.pc's Libs.private (pkg-config --static).
NATIVE_STATIC_LIBS ?= -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

# hamux.pc refers to ${prefix} where it can, so pkg-config --define-prefix works.
PC_LIBDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR := $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))

.PHONY: all build install uninstall native-static-libs clean kea install-kea

# The Kea hook (kea/): C++17 against Debian's kea-dev 2.2 headers, libhamux.a linked in
# statically so Kea loads it by path with nothing on its loader path; kea/hook.map
# exports only the hook's entry points.
KEA_INCLUDE ?= /usr/include/kea
KEA_OUT ?= $(CARGO_TARGET_DIR)/kea
KEA_HOOKS_DIR ?= $(LIBDIR)/kea/hooks
CXX ?= c++
KEA_CXXFLAGS ?= -std=c++17 -O2 -g -fPIC -Wall -Wextra -Wno-unused-parameter
# e.g. -fsanitize=address with the same in KEA_CXXFLAGS (tests/kea_hook_sanitized.rs)
KEA_LDFLAGS ?=
KEA_SOURCES := $(wildcard kea/*.cc)
KEA_HEADERS := $(wildcard kea/*.h) $(wildcard kea/compat/*/*.h) include/hamux.h
# Objects do not depend on libhamux, so every KEA_OUT (tests link their own) shares them.
KEA_OBJ ?= $(CARGO_TARGET_DIR)/kea/obj
KEA_OBJECTS := $(patsubst kea/%.cc,$(KEA_OBJ)/%.o,$(KEA_SOURCES))
KEA_LIBS := -lkea-dhcpsrv -lkea-dhcp++ -lkea-hooks -lkea-cfgclient -lkea-cc -lkea-asiolink \
            -lkea-stats -lkea-database -lkea-log -lkea-util -lkea-exceptions

all: build

# -p hamux: the library alone, not the other members of its workspace (testkit, tools).
build:
	$(strip $(CARGO) build $(CARGO_PROFILE_FLAG) -p hamux --lib)

ifeq ($(NO_BUILD),)
install: build
endif
install:
	@test -n '$(VERSION)' || { echo 'no version in Cargo.toml' >&2; exit 1; }
	@test -f '$(LIB_DIR)/libhamux.so' && test -f '$(LIB_DIR)/libhamux.a' || \
	  { echo '$(LIB_DIR) has no libhamux.so and libhamux.a: run make (or cargo build) first' >&2; exit 1; }
	@if command -v $(READELF) >/dev/null 2>&1 && \
	  ! $(READELF) -d '$(LIB_DIR)/libhamux.so' | grep -q 'soname: \[$(SONAME)\]'; then \
	  echo '$(LIB_DIR)/libhamux.so does not have the soname $(SONAME) (stale build?)' >&2; exit 1; fi
	$(INSTALL) -d '$(DESTDIR)$(LIBDIR)' '$(DESTDIR)$(INCLUDEDIR)' '$(DESTDIR)$(PKGCONFIGDIR)'
	$(INSTALL) -m 0755 '$(LIB_DIR)/libhamux.so' '$(DESTDIR)$(LIBDIR)/$(REALNAME)'
	ln -sf '$(REALNAME)' '$(DESTDIR)$(LIBDIR)/$(SONAME)'
	ln -sf '$(SONAME)' '$(DESTDIR)$(LIBDIR)/libhamux.so'
	$(INSTALL) -m 0644 '$(LIB_DIR)/libhamux.a' '$(DESTDIR)$(LIBDIR)/libhamux.a'
	$(INSTALL) -m 0644 include/hamux.h '$(DESTDIR)$(INCLUDEDIR)/hamux.h'
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(NATIVE_STATIC_LIBS)|g' hamux.pc.in > '$(DESTDIR)$(PKGCONFIGDIR)/hamux.pc.tmp'
	mv '$(DESTDIR)$(PKGCONFIGDIR)/hamux.pc.tmp' '$(DESTDIR)$(PKGCONFIGDIR)/hamux.pc'
	chmod 0644 '$(DESTDIR)$(PKGCONFIGDIR)/hamux.pc'
	@if test -f '$(KEA_INCLUDE)/hooks/hooks.h'; then \
	  $(MAKE) --no-print-directory install-kea NO_BUILD=1 LIB_DIR='$(LIB_DIR)'; \
	else echo 'no Kea headers in $(KEA_INCLUDE): the Kea hook is not built nor installed'; fi

uninstall:
	rm -f '$(DESTDIR)$(LIBDIR)/$(REALNAME)' '$(DESTDIR)$(LIBDIR)/$(SONAME)' \
	      '$(DESTDIR)$(LIBDIR)/libhamux.so' '$(DESTDIR)$(LIBDIR)/libhamux.a' \
	      '$(DESTDIR)$(INCLUDEDIR)/hamux.h' '$(DESTDIR)$(PKGCONFIGDIR)/hamux.pc' \
	      '$(DESTDIR)$(KEA_HOOKS_DIR)/libdhcp_hamux.so'

# Builds the library once more in its own target directory (the extra rustc flag would
# otherwise make cargo rebuild the normal one) and prints rustc's list.
native-static-libs:
	CARGO_TARGET_DIR='$(CARGO_TARGET_DIR)/native-static-libs' $(CARGO) rustc $(CARGO_PROFILE_FLAG) -p hamux --lib \
	  -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p'

# The link needs libhamux.a: with -j, cargo's build must finish before it, not beside it.
KEA_LIB_BUILD := $(if $(NO_BUILD),,build)
kea: $(KEA_OUT)/libdhcp_hamux.so

# Written under a temporary name: two test processes may build the same object at once.
$(KEA_OBJ)/%.o: kea/%.cc $(KEA_HEADERS)
	@test -f '$(KEA_INCLUDE)/hooks/hooks.h' || \
	  { echo 'no Kea headers in $(KEA_INCLUDE): apt-get install kea-dev libboost-dev' >&2; exit 1; }
	@mkdir -p '$(KEA_OBJ)'
	$(CXX) $(KEA_CXXFLAGS) -I'$(KEA_INCLUDE)' -Iinclude -Ikea -idirafter kea/compat -c $< -o $@.$$$$.tmp && mv $@.$$$$.tmp $@

# Always relinked: libhamux.a may have changed under a cargo build make cannot see.
$(KEA_OUT)/libdhcp_hamux.so: $(KEA_OBJECTS) kea/hook.map $(KEA_LIB_BUILD) FORCE
	@test -f '$(LIB_DIR)/libhamux.a' || { echo '$(LIB_DIR)/libhamux.a is missing: run make (or cargo build) first' >&2; exit 1; }
	@mkdir -p '$(KEA_OUT)'
	$(CXX) -shared $(KEA_LDFLAGS) -o $@.$$$$.tmp $(KEA_OBJECTS) '$(LIB_DIR)/libhamux.a' \
	  -Wl,--version-script=kea/hook.map -Wl,--no-undefined -Wl,--gc-sections \
	  $(KEA_LIBS) $(NATIVE_STATIC_LIBS) && mv $@.$$$$.tmp $@

FORCE:

install-kea: kea
	$(INSTALL) -d '$(DESTDIR)$(KEA_HOOKS_DIR)'
	$(INSTALL) -m 0755 '$(KEA_OUT)/libdhcp_hamux.so' '$(DESTDIR)$(KEA_HOOKS_DIR)/libdhcp_hamux.so'

clean:
	$(CARGO) clean
