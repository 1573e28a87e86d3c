# bg95-emu in a container: the binary only, on Debian slim (docs/architecture.md, "Beyond
# one machine"). Build: docker build -t bg95-emu .
# One fleet per container; its module indices from the job index, e.g. in a Kubernetes
# Indexed Job: bg95-emu fleet --count 50 --first-index $((JOB_COMPLETION_INDEX * 50)) ...

FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p bg95-emu --bin bg95-emu \
 && strip target/release/bg95-emu

FROM debian:bookworm-slim
COPY --from=build /src/target/release/bg95-emu /usr/local/bin/bg95-emu
# What the default command uses: the embedded server's root (mount your files here), the
# modules' UFS folders and their tty links.
RUN mkdir -p /srv/ftp /var/lib/bg95 /run/bg95
ENTRYPOINT ["bg95-emu"]
CMD ["fleet", "--count", "1", "--ftp-server", "0.0.0.0:2121", "--ftp-root", "/srv/ftp", \
     "--ufs-dir", "/var/lib/bg95", "--tty-link", "/run/bg95/tty-{i}"]
