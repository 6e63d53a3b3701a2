# The image of the in-cluster refresher (deploy/): `docker build -t pac-tui:dev .`
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY pac_tui ./pac_tui
RUN pip install --no-cache-dir . && rm -rf /src
USER 65532:65532
ENTRYPOINT ["pac-tui"]
