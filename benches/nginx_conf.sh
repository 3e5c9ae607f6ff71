# The nginx configuration that load.sh and syscalls.sh both measure against, written in one
# place so both compare with the same nginx: one worker, sendfile, no keep-alive, no access
# log, rawserve's listen backlog. Usage: write_nginx_conf DIR PORT ROOT [KEEPALIVE] (writes
# DIR/nginx.conf). KEEPALIVE: keepalive_timeout in seconds, default 0 (load.sh's keep-alive
# scenarios pass nginx's own default, 75; a `Connection: close` request is closed either way).
write_nginx_conf() {
  local dir=$1 port=$2 root=$3 keepalive=${4:-0} user_line=""
  mkdir -p "$dir"
  # As root, nginx's workers drop to the compiled-in user (www-data), which cannot read a
  # 0700 temp dir: keep them root. As anyone else, nginx cannot switch users at all.
  [ "$(id -u)" != 0 ] || user_line="user root;"
  cat >"$dir/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile 16384;
events {
    worker_connections 8192;
}
http {
    types { text/html html; application/octet-stream bin; }
    default_type application/octet-stream;
    sendfile on;
    keepalive_timeout $keepalive;
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        # rawserve listens with a backlog of 4096; nginx's default (511) would drop SYNs
        # at 1000 connections, which would measure the backlog, not the server.
        listen 127.0.0.1:$port backlog=4096;
        root $root;
    }
}
EOF
}
