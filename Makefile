# Entry points for people: `make demo` shows the app, `make test` runs every test.
.PHONY: test

test:
	bash scripts/test.sh
