# The same app as `bash scripts/app.sh`, for a GPU host or a Docker Space:
#   docker build -t playground .
#   docker run --rm -p 7860:7860 playground                  # then open http://127.0.0.1:7860
#   docker run --rm --gpus all -p 7860:7860 playground       # on a host with an NVIDIA GPU
# A smaller image for CPU-only hosts (torch without its CUDA libraries):
#   docker build --build-arg PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu -t playground .
# Inside the container the app binds 0.0.0.0 (its default is 127.0.0.1) so that the published port reaches it.
FROM python:3.11.13-slim-bookworm

# Debian's Fashion-MNIST (MIT): the GAN tab's "Is it new?" and the Compare tab measure against its
# 60,000 training images. Without it the app falls back to the 2,000 test images it ships, and says so.
RUN apt-get update \
    && apt-get install -y --no-install-recommends dataset-fashion-mnist=0.0~git20200523.55506a9-1 \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 user
WORKDIR /home/user/app

# Requirements first, so that a change of code does not reinstall them.
ARG PIP_EXTRA_INDEX_URL
COPY --chown=1000:1000 requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY --chown=1000:1000 . .
USER 1000
ENV GRADIO_ANALYTICS_ENABLED=False PYTHONUNBUFFERED=1 HOME=/home/user
EXPOSE 7860
CMD ["python", "app.py", "--host", "0.0.0.0", "--port", "7860"]
