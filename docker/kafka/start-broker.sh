#!/bin/bash
# Starts the compose stack's SASL_SSL broker: formats its log folder on the first start, with the SCRAM users admin
# (the broker's own inter-broker identity and the super user that creates topics and ACLs), job, operator and worker
# (KRaft keeps SCRAM credentials in the metadata log, so they must be there before the broker authenticates anyone),
# then runs it with docker/kafka/server.properties, whose passwords are config provider references to secret files.
set -euo pipefail
secrets=/etc/kafka/gradstream
config=/etc/kafka/gradstream-conf/server.properties
scram=()
for u in admin job operator worker; do
  scram+=(--add-scram "SCRAM-SHA-512=[name=$u,password=$(cat "$secrets/scram/$u.password")]")
done
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t "$CLUSTER_ID" -c "$config" "${scram[@]}" >/dev/null
unset scram
exec /opt/kafka/bin/kafka-server-start.sh "$config"
