#!/bin/bash
# The ACLs of gradstream's three principals (docs/operations.md#securing-kafka), given as the super user admin with
# its client file; adding an ACL that exists changes nothing. Usage: acls.sh BOOTSTRAP ADMIN_CLIENT_FILE
set -euo pipefail
bs=$1
admin=$2
acl() { /opt/kafka/bin/kafka-acls.sh --bootstrap-server "$bs" --command-config "$admin" --add "$@" >/dev/null; }
# The job: reads gradients and commands in its consumer group, writes its outputs in transactions.
acl --allow-principal User:job --operation Read --topic gradients --topic control
acl --allow-principal User:job --operation Write --topic parameters --topic rejected --topic status
acl --allow-principal User:job --operation Read --group gradstream
acl --allow-principal User:job --operation Write --transactional-id gradstream --resource-pattern-type prefixed
acl --allow-principal User:job --operation IdempotentWrite --cluster
# An operator: commands models, reads their events and the dead letters, and what gradstream doctor looks at.
acl --allow-principal User:operator --operation Write --topic control
acl --allow-principal User:operator --operation Read --topic status --topic rejected
acl --allow-principal User:operator --operation Describe --topic gradients --topic parameters
acl --allow-principal User:operator --operation DescribeConfigs --topic parameters
acl --allow-principal User:operator --operation Describe --group gradstream
acl --allow-principal User:operator --operation Read --group operator- --resource-pattern-type prefixed
# A worker: publishes gradients, follows parameters in a consumer group of its own.
acl --allow-principal User:worker --operation Write --topic gradients
acl --allow-principal User:worker --operation Read --topic parameters
acl --allow-principal User:worker --operation Read --group worker- --resource-pattern-type prefixed
/opt/kafka/bin/kafka-acls.sh --bootstrap-server "$bs" --command-config "$admin" --list
