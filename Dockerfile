# syntax=docker/dockerfile:1
# nginx-gwlint as a container image: a static musl binary on an empty base (FROM scratch), so
# the image is the binary alone (a few MB) and has nothing else to patch.
#
#   docker build -t nginx-gwlint .
#   docker run --rm -v "$PWD:/work" nginx-gwlint check deploy/nginx --format github
#
# Multi-architecture: `docker buildx build --platform linux/amd64,linux/arm64 .` builds each
# platform natively in its build stage (under emulation where the builder is of the other
# architecture); the binary is built by dist/build-static.sh, the same script the release
# workflow runs and the one tested (`dist/build-static.sh`, then the binary run in an empty root).
#
# The image has no nginx: `--fix` cannot verify with `nginx -t` there, and the target version
# is nginx-gwlint's default unless given (`--nginx-version 1.24.0` or `nginx-version` in
# nginx-gwlint.toml). It has no /etc/passwd or /etc/hosts of the checked host either: give the
# host's files with `--sysroot` (a mounted copy of its /etc) when the rules should read them.

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-slim-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends musl-tools \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN target="$(uname -m)-unknown-linux-musl" \
    && rustup target add "$target" \
    && dist/build-static.sh "$target" /out/nginx-gwlint \
    && /out/nginx-gwlint --version

FROM scratch
COPY --from=build /out/nginx-gwlint /usr/local/bin/nginx-gwlint
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/nginx-gwlint"]
CMD ["--help"]
