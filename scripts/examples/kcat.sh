#!/usr/bin/env bash
# Reads an agency's inbox topic with kcat over TLS and SASL/SCRAM, prints
# each message (one JSON object a line, schemas/events/delivery.schema.json)
# and acknowledges its packet through REST: POST /v1/inbox/{id}/ack.
#
# Settings, from the environment (scripts/examples/README.md says where
# the dev hub's come from):
#   KAFKA_BROKERS     host:port[,host:port]
#   KAFKA_CA          the CA bundle (PEM) that issued the brokers' certificates
#   KAFKA_USER        the agency's Kafka principal
#   KAFKA_PASSWORD    its password (never on kcat's command line: ps shows that)
#   KAFKA_MECHANISM   SCRAM-SHA-512 (default) or SCRAM-SHA-256
#   KAFKA_TOPIC       the agency's inbox topic, lienthong.inbox.<OrganId>
#   KAFKA_GROUP       a consumer group under the agency's group prefix,
#                     lienthong.agency.<OrganId>-<anything>
#   LIENTHONG_HUB     the hub's URL (default http://127.0.0.1:8080)
#   LIENTHONG_TOKEN   the agency's bearer token, for the ack
#
# It reads what is there and exits (-e); drop -e to keep following. kcat
# commits the group's offsets as it reads, so a packet whose ack failed is
# not read again by the group: GET /v1/inbox still lists it.
set -euo pipefail

: "${KAFKA_BROKERS:?}" "${KAFKA_CA:?}" "${KAFKA_USER:?}" "${KAFKA_PASSWORD:?}" "${KAFKA_TOPIC:?}" "${KAFKA_GROUP:?}" "${LIENTHONG_TOKEN:?}"
hub=${LIENTHONG_HUB:-http://127.0.0.1:8080}

# The client settings go in a file of our own (mode 600), removed on exit.
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
cat >"$conf" <<CONF
security.protocol=SASL_SSL
sasl.mechanisms=${KAFKA_MECHANISM:-SCRAM-SHA-512}
sasl.username=$KAFKA_USER
sasl.password=$KAFKA_PASSWORD
ssl.ca.location=$KAFKA_CA
auto.offset.reset=earliest
CONF

# Key: the packet id; value: the delivery event. -u: unbuffered, so each
# line is handled as it comes.
kcat -F "$conf" -b "$KAFKA_BROKERS" -G "$KAFKA_GROUP" -e -q -u -f '%k\t%s\n' "$KAFKA_TOPIC" |
  while IFS=$'\t' read -r id event; do
    printf '%s\n' "$event"
    # 404: not pending any more (acknowledged before: delivery is at least once).
    # The token goes in from a here-string (printf is a builtin): never on
    # curl's command line, where ps shows it.
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
      -H @<(printf 'Authorization: Bearer %s\n' "$LIENTHONG_TOKEN") -H 'Content-Type: application/json' \
      -d '{"result":"done"}' "$hub/v1/inbox/$id/ack")
    case $code in
    200) echo "acked $id" >&2 ;;
    404) echo "already acknowledged $id" >&2 ;;
    *)
      echo "kcat.sh: ack $id: HTTP $code" >&2
      exit 1
      ;;
    esac
  done
