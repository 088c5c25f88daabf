"""How far the reference PyTorch code itself lands from fixtures/pthnet/tiny when only rounding changes.

Not part of the product (which never needs Python): it backs the tolerance note in
packages/model/src/pthnet/parity.test.ts. It runs the fixture's three SGD steps with the
independent PyTorch rendering in ../shared/bench/pthnet_torch.py (which reproduces the fixture
to about 1e-7 in the fixture's own setting) under settings that change nothing but float32
rounding, and prints, per setting, the deviations the parity test checks:

  - step0_grad: largest step-0 gradient error relative to the largest gradient magnitude
  - step1_logits / step2_logits: largest logit error (absolute) of the steps after the first
  - after_logits: eval logits after the three steps; state: final state dict

Run from the repository root, with Debian's python3-torch:
    /usr/bin/python3 packages/model/tools/fixture_noise_floor.py
The first setting reproduces the fixture to about 1e-7 with Debian's reference BLAS behind
PyTorch. Where libopenblas-dev is installed (for the matMul addon) it becomes libblas.so.3 and
that setting lands about 3e-5 off; `LD_PRELOAD=/usr/lib/x86_64-linux-gnu/blas/libblas.so.3`
brings the reference BLAS back.
"""
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, '..', '..', '..', '..', 'shared'))
sys.path.insert(0, os.path.join(SHARED, 'bench'))
from pthnet_torch import PTHNet, pthnet_loss  # noqa: E402

TINY = os.path.join(SHARED, 'fixtures', 'pthnet', 'tiny')


class _Opaque:
    """Stands in for classes pickled in the checkpoint that we do not have (the recorder)."""

    def __setstate__(self, state):
        pass


# the reference trainer pickled its RecorderMeter from __main__; torch.load looks it up there
setattr(sys.modules['__main__'], 'RecorderMeter', _Opaque)


def run(dtype, mkldnn=True, perturb=None):
    torch.backends.mkldnn.enabled = mkldnn
    expected = json.load(open(os.path.join(TINY, 'expected.json')))
    checkpoint = torch.load(os.path.join(TINY, 'checkpoint_init.pth'), map_location='cpu')
    config = expected['config']
    net = PTHNet(n_in=config['n_in'], c=config['n_embd'], hidden=config['mlp_dim'], num_classes=config['num_classes'])
    net.load_state_dict({k[len('module.'):]: v for k, v in checkpoint['state_dict'].items()})
    net = net.to(dtype).train()
    for module in net.modules():
        if hasattr(module, 'p'):
            module.p = 0.0  # the fixture ran with stochastic depth off
    x = {lv: torch.tensor(np.load(os.path.join(TINY, f'input_{lv}.npy'))).to(dtype) for lv in 'LMH'}
    m = {lv: torch.tensor(np.load(os.path.join(TINY, f'mask_{lv}.npy'))) for lv in 'LMH'}
    if perturb is not None:  # one ulp up on every input value of one level
        x[perturb] = torch.nextafter(x[perturb], x[perturb] + 1)
    y = torch.tensor(np.load(os.path.join(TINY, 'labels.npy')))
    o = expected['optimizer']
    sgd = torch.optim.SGD(net.parameters(), lr=o['lr'], momentum=o['momentum'], weight_decay=o['weight_decay'])

    def err(t, want):
        return float(np.abs(t.detach().double().numpy().ravel() - np.array(want['data'], dtype=np.float64).ravel()).max())

    out = {}
    for step, want in enumerate(expected['train_steps']):
        sgd.zero_grad()
        p_l, p_m, p_h = net(x['L'], x['M'], x['H'], m['L'], m['M'], m['H'])
        pthnet_loss(p_l, p_m, p_h, y).backward()
        if step == 0:
            grads = expected['grads_step0']
            largest = max(np.abs(np.array(g['data'], dtype=np.float64)).max() for g in grads.values())
            named = dict(net.named_parameters())
            out['step0_grad'] = max(err(named[k].grad, g) for k, g in grads.items()) / largest
        else:
            out[f'step{step}_logits'] = max(err(p, want[f'pred_{lv}']) for p, lv in ((p_l, 'L'), (p_m, 'M'), (p_h, 'H')))
        sgd.step()
    net.eval()
    with torch.no_grad():
        out['after_logits'] = err(net.predict(x['H'], m['H']), expected['eval_logits_H_after_steps'])
    out['state'] = max(err(v, expected['state_dict_after_steps'][k]) for k, v in net.state_dict().items())
    return {k: float(f'{v:.2e}') for k, v in out.items()}


if __name__ == '__main__':
    settings = {
        'float32, oneDNN conv (the fixture\'s setting)': dict(dtype=torch.float32),
        'float32, PyTorch native conv (oneDNN off)': dict(dtype=torch.float32, mkldnn=False),
        'float64 (exact to float32 precision)': dict(dtype=torch.float64),
        'float32, level-L input 1 ulp up': dict(dtype=torch.float32, perturb='L'),
        'float32, level-H input 1 ulp up': dict(dtype=torch.float32, perturb='H'),
    }
    print(json.dumps({'torch': torch.__version__, 'spec_tolerance': 1e-4, 'results': {name: run(**kw) for name, kw in settings.items()}}, indent=2))
