"""Make assets/readme_figure.png, the figure at the top of the README (run: .venv/bin/python scripts/readme_figure.py).

Left: pooled nonzero Hessian eigenvalues of linear networks (Ni=30, Nh=10) against the predicted χ² ⊛ MP law.
Middle: rank of the population Hessian against Nh for quadratic and cubic networks (Ni=5), with the
effective-parameter count.  Right: the real network's loss decay against the quadratic prediction.
"""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import nearopt  # noqa: E402

out = Path(__file__).resolve().parent.parent / "assets" / "readme_figure.png"
fig, ax = plt.subplots(1, 3, figsize=(12, 3.4))

ni, nh = 10, 20
ev = np.concatenate([nearopt.spectrum(*nearopt.sample_teacher(ni, nh, seed=s), "linear")[-ni:] for s in range(400)])
law = nearopt.LinearSpectrumLaw(ni, nh)
x = np.linspace(0, ev.max() * 1.05, 400)
ax[0].hist(ev, bins=60, density=True, color="0.75", label="Hessian eigenvalues (400 teachers)")
ax[0].plot(x, law.pdf(x), "C3", lw=2, label=r"$\chi^2 \circledast$ Marchenko–Pastur")
ax[0].set(xlabel="eigenvalue λ", ylabel="density", title=f"Linear network, Ni={ni}, Nh={nh}")
ax[0].legend(fontsize=8)

ni = 5
for p, name, c in [(2, "quadratic", "C0"), (3, "cubic", "C1")]:
    hs = np.arange(1, 12)
    r = [nearopt.hessian_rank(*nearopt.sample_teacher(ni, h, seed=h), name) for h in hs]
    ax[1].plot(hs, r, "o", color=c, label=f"measured rank, {name}")
    ax[1].plot(hs, [nearopt.effective_parameters(name, ni, h) for h in hs], "-", color=c, alpha=0.6,
               label=f"effective parameters, {name}")
ax[1].plot(hs, hs * (ni + 1), "k--", lw=1, label="P = Nh (Ni + 1)")
ax[1].set(xlabel="hidden units Nh", ylabel="rank of H", title=f"Polynomial networks, Ni={ni}")
ax[1].legend(fontsize=7)

W1, W2 = nearopt.sample_teacher(3, 2, seed=0, w1_var=4.0)
evs = nearopt.spectrum(W1, W2, "erf")
lr = 1.0 / evs.max()
L = nearopt.descend(W1, W2, "erf", sigma0=1e-3, lr=lr, steps=1300, eigenvalues=evs)
pred, _ = nearopt.predict_descent(W1, W2, "erf", sigma0=1e-3, lr=lr, steps=1300)
n = np.arange(L.size)
ax[2].semilogy(n, L, "C0", lw=2, label="real network (gradient descent)")
ax[2].semilogy(n, pred, "C3--", label="quadratic model")
rate = nearopt.late_time_rate(evs, lr=lr)
ax[2].semilogy(n, pred[-1] * np.exp(-rate * (n - n[-1])), "k:", label=r"slope $-2\eta\lambda_{\min}^{+}$")
ax[2].set(ylim=(1e-12, 2 * L[0]), xlabel="step n", ylabel="loss", title="erf network, Ni=3, Nh=2")
ax[2].legend(fontsize=7)
fig.tight_layout()
fig.savefig(out, dpi=90)
print(out)
