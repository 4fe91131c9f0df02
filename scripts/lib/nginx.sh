# Sourced by the benchmark scripts: a loopback nginx serving a 3-byte
# answer, from Debian's packages (installed if missing), one worker, its
# own config, pid and temp files in the folder given.
#
#   start_nginx DIR   → sets $port (a free one) and $NGINX (the binary);
#                       nginx's pid is DIR/nginx.pid
#   stop_nginx DIR

start_nginx() {
  local dir=$1 nginx
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    echo "installing nginx from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  fi
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  NGINX=$nginx
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  mkdir -p "$dir/tmp"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 100000000;
  keepalive_timeout 75s;
  server {
    listen 127.0.0.1:$port;
    location / { default_type text/plain; return 200 "ok\n"; }
  }
}
CONF
  "$nginx" -c "$dir/nginx.conf" -p "$dir" 2>/dev/null
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nginx did not start on 127.0.0.1:$port (see $dir/error.log)" >&2
  return 1
}

stop_nginx() {
  [ -f "$1/nginx.pid" ] && kill "$(cat "$1/nginx.pid")" 2>/dev/null || true
}
