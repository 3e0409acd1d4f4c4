# install.mk - install, uninstall, deploy, undeploy, systemd-test.
# Included by the top Makefile (PROGRAM, PREFIX, BINDIR, MANDIR, DESTDIR, BIN,
# BUILD, BUILDROOT come from there).
#
#   make install   [PREFIX=/usr/local] [DESTDIR=] [BINDIR=] [MANDIR=]
#                  [SYSTEMDUNITDIR=] [CATALOGDIR=]
#                  Files only; never calls systemctl (for packagers).
#   make uninstall removes exactly what install put there.
#   make deploy    [INSTANCE=name | STACK_NAME=name] [PARAMS_FILE=file]
#                  [REPLACE_CONFIG=1] [ALLOW_EXAMPLE_CONFIG=1]
#                  (root, on the live system) install + config in
#                  /etc/personalize-retrain + check + journal catalog +
#                  daemon-reload + enable --now. STACK_NAME=name is
#                  INSTANCE=name; an installed config that differs from an
#                  explicit PARAMS_FILE is refused unless REPLACE_CONFIG=1; a
#                  config with the example's account and names is refused
#                  unless ALLOW_EXAMPLE_CONFIG=1.
#   make undeploy  [INSTANCE=name | STACK_NAME=name | ALL=1] [PURGE=1]
#                  stop, disable, remove what deploy installed (with the
#                  directories it created, once empty); config, keys and
#                  state stay unless PURGE=1. ALL=1: the plain unit and every
#                  instance (ALL=1 PURGE=1 leaves nothing of ours behind).
#   make list-deployed  every unit of ours with its state, config, keys and
#                  state directory, and what undeploy left behind.
#   Give the variables as make arguments (sudo make deploy INSTANCE=x): sudo
#   drops them from the environment. PR_DEPLOY_DRY_RUN=1 (a test hook) only
#   prints the unit and config they resolve to; nothing is built or installed.
#   make systemd-test   the end-to-end test under a booted systemd (nspawn).
#
# The logic of deploy/undeploy lives in scripts/deploy.

INSTALL ?= install

# Unit and catalog directories: systemd's own (pkg-config) for a /usr
# install, otherwise under PREFIX; systemd also reads both from /usr/local.
SYSTEMD_PC_UNITDIR = $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null)
SYSTEMD_PC_CATALOGDIR = $(shell $(PKG_CONFIG) --variable=catalogdir systemd 2>/dev/null)
ifeq ($(PREFIX),/usr)
SYSTEMDUNITDIR ?= $(or $(SYSTEMD_PC_UNITDIR),/lib/systemd/system)
CATALOGDIR     ?= $(or $(SYSTEMD_PC_CATALOGDIR),/usr/lib/systemd/catalog)
else
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
CATALOGDIR     ?= $(PREFIX)/lib/systemd/catalog
endif

UNIT_IN   := $(wildcard systemd/*.service.in)
UNITS     := $(notdir $(UNIT_IN:.in=))
CATALOGS  := $(wildcard systemd/*.catalog)
MAN5      := $(wildcard docs/*.5)
MAN8      := $(wildcard docs/*.8)

# Every file install creates, as installed paths (without DESTDIR).
INSTALL_FILES = $(BINDIR)/$(PROGRAM) \
	$(addprefix $(SYSTEMDUNITDIR)/,$(UNITS)) \
	$(addprefix $(CATALOGDIR)/,$(notdir $(CATALOGS))) \
	$(addprefix $(MANDIR)/man5/,$(notdir $(MAN5))) \
	$(addprefix $(MANDIR)/man8/,$(notdir $(MAN8)))

.PHONY: install uninstall deploy undeploy list-deployed systemd-test install-files-list

install: $(BIN)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	$(INSTALL) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/$(PROGRAM)
	@set -e; for u in $(UNITS); do \
		echo "sed s|@BINDIR@|$(BINDIR)| systemd/$$u.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u"; \
		sed 's|@BINDIR@|$(BINDIR)|g' systemd/$$u.in > $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp; \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp; \
		mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
	done
ifneq ($(CATALOGS),)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(CATALOGDIR)
	$(INSTALL) -m 0644 $(CATALOGS) $(DESTDIR)$(CATALOGDIR)/
endif
ifneq ($(MAN5),)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(MANDIR)/man5
	$(INSTALL) -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
endif
ifneq ($(MAN8),)
	$(INSTALL) -d -m 0755 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
endif

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALL_FILES))

# The installed paths, one a line (tests compare it with what install made).
install-files-list:
	@printf '%s\n' $(INSTALL_FILES)

# The directories install may create (deploy records those that did not
# exist, and undeploy removes them again once empty).
INSTALL_DIRS = $(BINDIR) $(SYSTEMDUNITDIR) $(CATALOGDIR) $(MANDIR)/man5 $(MANDIR)/man8

DEPLOY_ENV = PROGRAM_PATH='$(BINDIR)/$(PROGRAM)' \
	INSTALL_FILES='$(strip $(INSTALL_FILES))' \
	INSTALL_DIRS='$(strip $(INSTALL_DIRS))' ALL='$(ALL)' \
	INSTANCE='$(INSTANCE)' STACK_NAME='$(STACK_NAME)' \
	PARAMS_FILE='$(PARAMS_FILE)' REPLACE_CONFIG='$(REPLACE_CONFIG)' \
	ALLOW_EXAMPLE_CONFIG='$(ALLOW_EXAMPLE_CONFIG)' PURGE='$(PURGE)' \
	DESTDIR='$(DESTDIR)' PR_DEPLOY_DRY_RUN='$(PR_DEPLOY_DRY_RUN)'

ifeq ($(PR_DEPLOY_DRY_RUN),)
deploy: $(BIN)
	@$(DEPLOY_ENV) scripts/deploy preflight
	@$(DEPLOY_ENV) scripts/deploy record-dirs
	@$(MAKE) --no-print-directory install
	@$(DEPLOY_ENV) scripts/deploy deploy
else
deploy:
	@$(DEPLOY_ENV) scripts/deploy preflight
endif

undeploy:
	@$(DEPLOY_ENV) scripts/deploy undeploy

# What is deployed or left behind: units, configs, keys, state.
list-deployed:
	@$(DEPLOY_ENV) scripts/deploy list

systemd-test: all
	@BUILD_DIR=$(BUILD) tests/integration/systemd_e2e.sh || { rc=$$?; \
		[ $$rc -ne 77 ] || echo "systemd-test: SKIPPED (reason above)"; exit $$rc; }
