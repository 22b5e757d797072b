#!/usr/bin/env bash
# A kafka-fusion dependency service written with kcat and jq, not with the
# library: it reads requests from a topic and answers each on its returnTopic,
# following docs/protocol.md. Its data is an array of strings (a deps-map
# node's args); its result is them upper-cased and joined with spaces.
#
#   examples/shell/upper-service.sh <brokers> <topic> <group>
set -euo pipefail
brokers=$1 topic=$2 group=$3

# A balanced consumer (a consumer group) reading from the beginning of a new
# group, one line per message: key, a tab, the value (JSON on one line).
kcat -b "$brokers" -G "$group" -X auto.offset.reset=earliest -u -q -f '%k\t%s\n' "$topic" |
  while IFS=$'\t' read -r key value; do
    return_topic=$(jq -r '.returnTopic // empty' <<<"$value") || continue
    [ -n "$return_topic" ] || continue # fire and forget: nobody to answer
    correlation_id=$(jq -r '.correlationId // empty' <<<"$value")
    if reply=$(jq -c --arg id "$correlation_id" '{correlationId: $id, result: (.data | map(ascii_upcase) | join(" "))}' <<<"$value" 2>/dev/null); then :; else
      reply=$(jq -nc --arg id "$correlation_id" '{correlationId: $id, error: {name: "TypeError", message: "data must be an array of strings"}}')
    fi
    # The reply carries the request's key.
    printf '%s\t%s\n' "$key" "$reply" | kcat -b "$brokers" -P -t "$return_topic" -K $'\t'  || echo "could not reply to $return_topic" >&2
  done
