#!/bin/sh
# Renders /data/conf/redis.conf and /data/conf/sentinel.conf for this pod.
# The StatefulSet and headless Service names are derived from the pod's
# hostname, so this keeps working when an overlay adds a name prefix.
set -eu

STS="${HOSTNAME%-*}"
HEADLESS="${STS}-headless"
SELF="${HOSTNAME}.${HEADLESS}"
REPLICAS="${REPLICAS:-3}"

mkdir -p /data/conf

# Ask the sentinels that are already up who the master is.
MASTER=""
i=0
while [ "$i" -lt "$REPLICAS" ]; do
  peer="${STS}-${i}.${HEADLESS}"
  if [ "$peer" != "$SELF" ]; then
    MASTER="$(redis-cli -h "$peer" -p 26379 sentinel get-master-addr-by-name "$REDIS_MASTER_NAME" 2>/dev/null | head -n 1 || true)"
    [ -n "$MASTER" ] && break
  fi
  i=$((i + 1))
done
# Nobody knows a master yet: pod 0 bootstraps as master.
[ -z "$MASTER" ] && MASTER="${STS}-0.${HEADLESS}"

render() {
  sed -e "s|__PASSWORD__|${REDIS_PASSWORD}|g" \
      -e "s|__ANNOUNCE__|${SELF}|g" \
      -e "s|__MASTER__|${MASTER}|g" \
      -e "s|__MASTER_NAME__|${REDIS_MASTER_NAME}|g" \
      -e "s|__QUORUM__|${SENTINEL_QUORUM}|g" "$1"
}

render /config/redis.conf > /data/conf/redis.conf
if [ "$MASTER" != "$SELF" ]; then
  echo "replicaof ${MASTER} 6379" >> /data/conf/redis.conf
fi
render /config/sentinel.conf > /data/conf/sentinel.conf
