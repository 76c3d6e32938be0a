#!/bin/bash
# Makes the secrets of the compose stack's SASL_SSL broker once; a later run leaves them as they are. Run by the
# one-shot `secrets` service as root, into three volumes so that each container mounts only what it needs:
#   /secrets/broker   the broker's key store, trust store, their passwords, the SCRAM passwords and admin's client
#                     file for the health check (uid 1000: the apache/kafka image's user)
#   /secrets/job      the job's Kafka client file and the trust store (uid 9999: flink)
#   /secrets/clients  operator, worker and admin client files, the trust store and the CA certificate (PEM)
# A throw-away CA signs the broker's certificate (SAN dns:kafka, dns:localhost, ip:127.0.0.1) and its key is deleted.
# Passwords are 192 random bits in hex, written to owner-only files; keytool reads them from files, never arguments.
set -euo pipefail
out=${1:-/secrets}
if [ -f "$out/broker/broker.p12" ]; then
  echo "secrets exist in $out; to make new ones, remove the volumes (docker-compose down -v)"
  exit 0
fi
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out/broker/scram" "$out/job" "$out/clients"
rand() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }
for f in ca broker truststore; do rand > "$work/$f.password"; done
for u in admin job operator worker; do rand > "$out/broker/scram/$u.password"; done
kt() { keytool "$@" >/dev/null; }
kt -genkeypair -alias ca -keyalg EC -groupname secp256r1 -dname "CN=gradstream compose CA" \
  -ext bc:c=ca:true,pathlen:0 -ext ku:c=keyCertSign,cRLSign -validity 365 -storetype PKCS12 \
  -keystore "$work/ca.p12" -storepass:file "$work/ca.password"
kt -genkeypair -alias broker -keyalg EC -groupname secp256r1 -dname "CN=kafka" -validity 365 -storetype PKCS12 \
  -keystore "$out/broker/broker.p12" -storepass:file "$work/broker.password"
kt -certreq -alias broker -keystore "$out/broker/broker.p12" -storepass:file "$work/broker.password" \
  -file "$work/broker.csr"
# clientAuth too: the broker presents the same certificate to its controller listener, which requires one.
kt -gencert -alias ca -keystore "$work/ca.p12" -storepass:file "$work/ca.password" -infile "$work/broker.csr" \
  -outfile "$work/broker.crt" -rfc -validity 365 -ext san=dns:kafka,dns:localhost,ip:127.0.0.1 \
  -ext ku:c=digitalSignature -ext eku=serverAuth,clientAuth
kt -exportcert -alias ca -keystore "$work/ca.p12" -storepass:file "$work/ca.password" -rfc -file "$out/clients/ca.crt"
kt -importcert -noprompt -alias ca -file "$out/clients/ca.crt" -keystore "$out/broker/broker.p12" \
  -storepass:file "$work/broker.password"
kt -importcert -alias broker -file "$work/broker.crt" -keystore "$out/broker/broker.p12" \
  -storepass:file "$work/broker.password"
kt -importcert -noprompt -alias ca -file "$out/clients/ca.crt" -storetype PKCS12 \
  -keystore "$out/broker/truststore.p12" -storepass:file "$work/truststore.password"
cp "$out/broker/truststore.p12" "$out/job/truststore.p12"
cp "$out/broker/truststore.p12" "$out/clients/truststore.p12"
jaas() {
  echo "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$1\" password=\"$(cat "$out/broker/scram/$1.password")\";"
}
{
  echo "keystore.password=$(cat "$work/broker.password")"
  echo "truststore.password=$(cat "$work/truststore.password")"
  echo "admin.jaas=$(jaas admin)"
} > "$out/broker/secrets.properties"
# A Kafka client .properties file (what --kafka-config and Kafka's --command-config take); $2 is where the trust
# store is mounted in the containers that use it.
client() {
  cat <<PROPERTIES
# Kafka client settings of principal '$1' on gradstream's compose broker. Private: it holds the password.
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$(jaas "$1")
ssl.truststore.type=PKCS12
ssl.truststore.location=$2/truststore.p12
ssl.truststore.password=$(cat "$work/truststore.password")
PROPERTIES
}
client job /etc/gradstream/kafka > "$out/job/job.properties"
for u in admin operator worker; do client "$u" /etc/gradstream/kafka-clients > "$out/clients/$u.properties"; done
# For the broker container's health check, which runs as the broker's own principal.
client admin /etc/kafka/gradstream > "$out/broker/admin-client.properties"
chown -R 1000:1000 "$out/broker"
chown -R 9999:9999 "$out/job"
chown -R 1000:1000 "$out/clients"
echo "secrets made in $out"
