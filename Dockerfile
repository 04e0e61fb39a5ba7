# syntax=docker/dockerfile:1
# One image with every riverwatch binary, static (CGO_ENABLED=0), running as a non-root user
# on an empty base. The command picks the service:
#
#   docker build -t riverwatch .
#   docker run --rm riverwatch riverwatch-archiver -version
#   docker run -p 8081:8081 -p 9212:9212 -e RIVERWATCH_KAFKA_BROKERS=kafka:9092 riverwatch riverwatch-gateway
#
# The configuration is /etc/riverwatch/riverwatch.yaml (the repository's configs/, with the
# development tokens and contacts: mount real ones over /etc/riverwatch/secrets/ or point
# RIVERWATCH_AUTH_TOKENS_FILE / RIVERWATCH_CONTACTS_FILE elsewhere). docs/operations.md has
# the rest.
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
WORKDIR /src
# Modules first, so that a change in the code does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY pkg/ pkg/
COPY services/ services/
COPY deploy/container/probe/ deploy/container/probe/
COPY configs/ configs/
ARG VERSION=dev
ARG REVISION=unknown
# /out is the runtime image's file system, laid out here so that the last stage is one COPY.
RUN set -eu; \
    mkdir -p /out/usr/local/bin /out/etc/riverwatch /out/etc/ssl/certs /out/tmp; \
    for svc in api archiver assessor gateway responder simulator wqeval; do \
      CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X github.com/riverwatch/riverwatch/pkg/ops.version=${VERSION} -X github.com/riverwatch/riverwatch/pkg/ops.revision=${REVISION}" \
        -o /out/usr/local/bin/riverwatch-$svc ./services/$svc; \
    done; \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "-s -w" \
      -o /out/usr/local/bin/riverwatch-probe ./deploy/container/probe; \
    cp -r configs/. /out/etc/riverwatch/; \
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \
    echo 'riverwatch:x:10001:10001:riverwatch:/nonexistent:/sbin/nologin' > /out/etc/passwd; \
    echo 'riverwatch:x:10001:' > /out/etc/group; \
    chmod 1777 /out/tmp

FROM scratch
COPY --from=build /out/ /
# Absolute paths, so that the files are found whatever the working directory is.
ENV PATH=/usr/local/bin \
    RIVERWATCH_CONFIG=/etc/riverwatch/riverwatch.yaml \
    RIVERWATCH_SITES_FILE=/etc/riverwatch/sites.yaml \
    RIVERWATCH_PLAYBOOKS_FILE=/etc/riverwatch/playbooks.yaml \
    RIVERWATCH_CONTACTS_FILE=/etc/riverwatch/contacts.yaml \
    RIVERWATCH_AUTH_TOKENS_FILE=/etc/riverwatch/tokens.yaml \
    RIVERWATCH_LOG_FORMAT=json
WORKDIR /etc/riverwatch
USER 10001:10001
EXPOSE 8080 8081 8082 8083 8084 9212
CMD ["riverwatch-api", "-config", "/etc/riverwatch/riverwatch.yaml"]
