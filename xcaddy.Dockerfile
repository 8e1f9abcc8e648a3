# Builds Caddy with hookgate using xcaddy, for users who have Docker:
#   docker build -f xcaddy.Dockerfile -t caddy-hookgate .
FROM caddy:2.11-builder AS builder
COPY . /src/hookgate
RUN xcaddy build --with github.com/hookgate/hookgate=/src/hookgate

FROM caddy:2.11
COPY --from=builder /usr/bin/caddy /usr/bin/caddy
