"""The FD ladder (playground/ladder.py): blur, noise, memorisation rate, rungs, placement."""
import numpy as np
import pytest
import torch

from playground import data, ladder, memorisation
from playground.errors import InputError
from playground.families import features

torch.set_num_threads(1)


def images(n=6, size=12, seed=0, channels=None):
    shape = (n, size, size) + ((channels,) if channels else ())
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("channels", [None, 1, 3])
def test_blur_and_noise_keep_shape_and_dtype(channels):
    x = images(channels=channels)
    for y in (ladder.blur(x, 1), ladder.blur(x, 2.5), ladder.add_noise(x, 0.1, seed=0)):
        assert y.shape == x.shape and y.dtype == np.uint8
    assert np.array_equal(ladder.blur(x, 0), x)
    assert ladder.blur(x, 2).std() < ladder.blur(x, 1).std() < x.std()  # smoother and smoother


def test_blur_of_a_constant_image_is_the_constant_and_blur_works_on_tiny_images():
    for value in (0, 77, 255):
        x = np.full((2, 9, 13), value, np.uint8)
        assert np.array_equal(ladder.blur(x, 1), x) and np.array_equal(ladder.blur(x, 2), x)
    assert ladder.blur(images(2, size=3), 2).shape == (2, 3, 3)  # kernel wider than the image


def test_blur_is_mirror_symmetric_and_keeps_the_mean_of_a_centred_dot():
    x = np.zeros((1, 15, 15), np.uint8)
    x[0, 7, 7] = 255
    y = ladder.blur(x, 1).astype(int)
    assert np.array_equal(y, y[:, ::-1]) and np.array_equal(y, y[:, :, ::-1]) and y[0, 7, 7] == y.max()
    assert abs(y.sum() - 255) < 15  # the kernel sums to 1 (rounding aside)


def test_noise_is_seeded_and_clipped():
    x = images()
    assert np.array_equal(ladder.add_noise(x, 0.2, seed=3), ladder.add_noise(x, 0.2, seed=3))
    assert not np.array_equal(ladder.add_noise(x, 0.2, seed=3), ladder.add_noise(x, 0.2, seed=4))
    grey = np.full((200, 20, 20), 128, np.uint8)
    assert abs(ladder.add_noise(grey, 0.1, seed=0).astype(float).std() - 25.5) < 0.5  # sigma of the 0..255 range
    assert np.array_equal(ladder.add_noise(x, 0, seed=0), x)
    black = ladder.add_noise(np.zeros((4, 8, 8), np.uint8), 0.5, seed=0)
    assert black.min() == 0 and black.max() <= 255


def test_bad_inputs_are_refused():
    with pytest.raises(InputError):
        ladder.blur(images().astype(np.float32), 1)
    with pytest.raises(InputError):
        ladder.blur(images(), -1)
    with pytest.raises(InputError):
        ladder.add_noise(images(), 25, seed=0)  # a fraction of the range, not grey levels
    with pytest.raises(InputError):
        ladder.blur(np.zeros((8, 8), np.uint8), 1)


def digits16():
    from PIL import Image
    x, y = data.digits()
    return np.stack([np.asarray(Image.fromarray(im).resize((16, 16), Image.Resampling.BILINEAR)) for im in x]), y


def test_memorisation_rate_flags_copies_and_not_noise(monkeypatch):
    monkeypatch.setattr(memorisation, "BLOCK", 500)  # several blocks of queries and references
    train, _ = digits16()
    copies = ladder.add_noise(train, 0.005, seed=0)
    m = ladder.memorisation_rate(copies, train)
    assert m.rate == 1.0 and m.median_ratio < 0.2
    noise = np.random.default_rng(0).integers(0, 256, (300, 16, 16), dtype=np.uint8)
    m = ladder.memorisation_rate(noise, train)
    assert m.rate == 0.0 and m.median_ratio > 2
    # a larger training set is cut to a seeded subset of max_train images
    subset = train[np.sort(np.random.default_rng(7).permutation(len(train))[:600])]
    assert ladder.memorisation_rate(copies[:100], train, max_train=600, seed=7) == \
        ladder.memorisation_rate(copies[:100], subset, max_train=None)


def random_net(images, size, classes, seed=0):
    """A tiny random-weight feature network, its BatchNorm statistics set on `images`."""
    torch.manual_seed(seed)
    net = features.build(dict(in_channels=1, num_classes=classes, width=8, feature_dim=16, image_size=size,
                              dataset="orl-faces"))
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # a plain average over the one calibration pass
    with torch.no_grad():
        net.train()(torch.as_tensor(np.array(images)))
    return net.eval()


def test_rungs_grow_in_order_on_real_faces():
    faces, labels = data.load("orl-faces", split="all", size=32)
    a, b = ladder.split_halves(labels, seed=0)
    assert len(a) == len(b) == 200 and not set(a) & set(b)
    assert (np.bincount(labels[a]) == 5).all()  # five faces of every person in each half
    net = random_net(faces[a], 32, 40)
    fn = lambda x: features.features(net, x)  # noqa: E731
    rungs = ladder.fd_ladder(fn, faces[a], faces[b])
    assert list(rungs) == [ladder.FLOOR, "blurred sigma=1", "blurred sigma=2", "noisy sigma=0.1", "noisy sigma=0.2"]
    assert rungs[ladder.FLOOR] * 5 < rungs["blurred sigma=1"] < rungs["blurred sigma=2"]
    assert rungs[ladder.FLOOR] * 5 < rungs["noisy sigma=0.1"] < rungs["noisy sigma=0.2"]
    assert ladder.fd_ladder(fn, faces[a], faces[b]) == rungs  # deterministic
    # the model's FD on the ladder's terms: the held-out faces as "generated" land on the floor
    assert ladder.model_fd(fn, faces[b], faces[a]) == pytest.approx(rungs[ladder.FLOOR])
    assert ladder.model_fd(fn, ladder.blur(faces[b], 2), faces[a]) == pytest.approx(rungs["blurred sigma=2"])
    assert ladder.place(ladder.model_fd(fn, faces[a], faces[a]), rungs).startswith("below the floor")


def test_n_picks_the_same_training_images_for_ladder_and_model():
    x, _ = digits16()
    fn = lambda im: im.reshape(len(im), -1)[:, ::16].astype(np.float64)  # noqa: E731  16 pixels as "features"
    rungs = ladder.fd_ladder(fn, x[:1000], x[1000:], n=300, seed=5)
    assert ladder.model_fd(fn, x[1000:1300], x[:1000], n=300, seed=5) > 0
    ref = ladder.reference_features(fn, x[:1000], 300, seed=5)
    assert ladder.fd_ladder(fn, x[:1000], x[1000:], n=300, seed=5, reference=ref) == rungs
    with pytest.raises(InputError):
        ladder.fd_ladder(fn, x[:10], x[10:20], n=50)


def test_place_and_markdown():
    rungs = {ladder.FLOOR: 2.0, "blurred sigma=1": 12.3, "blurred sigma=2": 25.0, "noisy sigma=0.1": 40.0}
    assert ladder.place(15, rungs) == "between blurred sigma=1 (12.3) and blurred sigma=2 (25)"
    assert ladder.place(1, rungs) == f"below the floor ({ladder.FLOOR}, 2)"
    assert ladder.place(99, rungs) == "above every rung (highest: noisy sigma=0.1, 40)"
    assert ladder.place(12.3, rungs) == "at blurred sigma=1 (12.3)"
    assert ladder.place(3, {"b": 9.0, "a": 1.0}) == "between a (1) and b (9)"  # ordered by value
    table = ladder.ladder_markdown(15, rungs, model="gan-faces", metric="FD-ORL")
    lines = table.splitlines()
    assert lines[0] == "| images compared with the training images | FD-ORL |"
    assert lines[2:7] == [f"| {ladder.FLOOR} | 2 |", "| blurred sigma=1 | 12.3 |", "| **gan-faces** | **15** |",
                          "| blurred sigma=2 | 25 |", "| noisy sigma=0.1 | 40 |"]
    assert lines[-1] == "gan-faces: FD-ORL 15, between blurred sigma=1 (12.3) and blurred sigma=2 (25)."
