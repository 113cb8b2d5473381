# The same app for a GPU host or a Docker Space:
#   docker build -t playground . && docker run --gpus all -p 7860:7860 playground
# Inside the container the app binds 0.0.0.0 so that the published port reaches it.
FROM python:3.11-slim
RUN useradd -m -u 1000 user
WORKDIR /home/user/app
COPY --chown=user requirements.txt .
# On a CUDA host, install a CUDA build of torch first, e.g.:
#   pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=user . .
USER user
ENV GRADIO_ANALYTICS_ENABLED=False PYTHONUNBUFFERED=1
EXPOSE 7860
CMD ["python", "app.py", "--host", "0.0.0.0", "--port", "7860"]
