# vigil's container image: a static binary on distroless, running as nonroot (65532).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t vigil .
#   docker run -p 9780:9780 -v vigil-data:/var/lib/vigil vigil
#
# The base images are pinned by tag; a release pipeline should pin them by digest too
# (FROM name:tag@sha256:...), which the tests in deploy/ accept. docs/deploy.md has more.

FROM golang:1.27.3-bookworm AS build
# Build settings: a static binary (no libc, so it runs on distroless/static) for the
# builder's platform unless GOOS/GOARCH say otherwise.
ARG CGO_ENABLED=0
ARG GOOS=linux
ARG GOARCH=
ARG GOFLAGS=-trimpath
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=${CGO_ENABLED} GOOS=${GOOS} GOARCH=${GOARCH} GOFLAGS=${GOFLAGS} go build -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" -o /out/vigil ./cmd/vigil
# The state directory, created here because the runtime image has no shell to make it.
RUN mkdir -p /out/state/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/vigil /usr/local/bin/vigil
COPY examples/quickstart.yaml /etc/vigil/vigil.yaml
COPY --from=build --chown=65532:65532 /out/state /var/lib/vigil
USER 65532:65532
# Relative storage paths (the default storage_path is data/) land in the volume, so the
# root filesystem can be read-only.
WORKDIR /var/lib/vigil
VOLUME ["/var/lib/vigil"]
EXPOSE 9780
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/vigil", "healthcheck", "--url", "http://127.0.0.1:9780", "--timeout", "4s"]
ENTRYPOINT ["/usr/local/bin/vigil"]
CMD ["run", "--config.file=/etc/vigil/vigil.yaml"]
