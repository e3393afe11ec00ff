# The cpra command in an image of its own: a static binary run as a user
# without privileges, with nothing else in the image (no shell, no package
# manager).
#
#   docker build -t cpra .
#   docker run --rm -v "$PWD/monitors.yaml:/app/monitors.yaml:ro" cpra --yaml /app/monitors.yaml
#
# The build context is the repository's root: the command (cmd/cpra) is a
# module of its own that takes the library (the root), the etcd cluster
# module (cluster/etcd) and the Kubernetes remediations (intervene/k8s)
# through replace directives, so it builds on its own go.mod (GOWORK=off).

FROM golang:1.25 AS build
ENV GOWORK=off
# The modules first, so that a change of the code does not fetch them again.
WORKDIR /src
COPY go.mod go.sum ./
COPY cluster/etcd/go.mod cluster/etcd/go.sum ./cluster/etcd/
COPY intervene/k8s/go.mod intervene/k8s/go.sum ./intervene/k8s/
COPY cmd/cpra/go.mod cmd/cpra/go.sum ./cmd/cpra/
WORKDIR /src/cmd/cpra
RUN go mod download
COPY . /src
# The revision the image is built from, shown by --version:
#   docker build --build-arg REVISION=$(git rev-parse --short HEAD) -t cpra .
ARG REVISION=
RUN CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w -X main.revision=${REVISION}" -o /out/cpra . && mkdir -p /out/app

FROM scratch
# Root certificates for https checks and notifiers; the time zones of
# maintenance windows are built into the binary.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/cpra /cpra
# The working directory belongs to the user the command runs as, so that the
# state file next to a mounted monitors file (monitors.yaml.state) can be
# written; mount a volume on /app, or give --state a path on one, to keep
# it across containers.
COPY --from=build --chown=65532:65532 /out/app /app
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/cpra"]
