# revsd: build, install, models. `make install` needs root (or DESTDIR=…).
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift

.PHONY: build test install models uninstall

build:
	$(SWIFT) build -c release --product revsdd
	$(SWIFT) build -c release --product revsdctl
	$(SWIFT) build -c release --product revsd-web

test:
	scripts/test.sh

install: build
	install -Dm755 .build/release/revsdd $(DESTDIR)$(PREFIX)/bin/revsdd
	install -Dm755 .build/release/revsdctl $(DESTDIR)$(PREFIX)/bin/revsdctl
	install -Dm755 .build/release/revsd-web $(DESTDIR)$(PREFIX)/bin/revsd-web
	for u in revsdd.service revsdd.socket; do \
	  t=$$(mktemp) && sed 's|/usr/local/bin/|$(PREFIX)/bin/|' systemd/$$u > $$t && \
	  install -Dm644 $$t $(DESTDIR)/etc/systemd/system/$$u && \
	  sed 's|/usr/local/bin/|$(PREFIX)/bin/|' systemd/user/$$u > $$t && \
	  install -Dm644 $$t $(DESTDIR)$(PREFIX)/lib/systemd/user/$$u && rm -f $$t; \
	done
	test -e $(DESTDIR)/etc/revsd/revsdd.toml || install -Dm644 config/revsdd.toml $(DESTDIR)/etc/revsd/revsdd.toml
	install -Dm644 README.md $(DESTDIR)$(PREFIX)/share/doc/revsd/README.md
	install -Dm644 docs/PROTOCOL.md $(DESTDIR)$(PREFIX)/share/doc/revsd/PROTOCOL.md
	mkdir -p $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	.build/release/revsdctl --generate-completion-script bash > $(DESTDIR)$(PREFIX)/share/bash-completion/completions/revsdctl
	.build/release/revsdctl --generate-completion-script zsh > $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_revsdctl
	.build/release/revsdctl --generate-completion-script fish > $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/revsdctl.fish
	if [ -z "$(DESTDIR)" ]; then getent group revsd >/dev/null || groupadd --system revsd; systemctl daemon-reload 2>/dev/null || true; fi

# The models of the system service (fetched from PyPI, pinned and verified).
models: build
	REVSD_MODELS=$(DESTDIR)/var/lib/revsd/models .build/release/revsdctl models fetch

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/revsdd $(DESTDIR)$(PREFIX)/bin/revsdctl $(DESTDIR)$(PREFIX)/bin/revsd-web
	rm -f $(DESTDIR)/etc/systemd/system/revsdd.service $(DESTDIR)/etc/systemd/system/revsdd.socket
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/user/revsdd.service $(DESTDIR)$(PREFIX)/lib/systemd/user/revsdd.socket
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/revsd
