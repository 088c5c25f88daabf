# How testdata/torch113_mixed.pth was made (torch 1.13.1, Debian python3-torch): a file written
# by a real torch.save, read in torchCheckpoint.test.ts. Documentation only; no test runs Python.
import torch, numpy as np, argparse, collections
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
lin = torch.nn.Linear(3, 2)
with torch.no_grad():
    lin.weight.copy_(torch.tensor([[0.5, -1.0, 2.0], [0.25, 0.0, -0.75]])); lin.bias.copy_(torch.tensor([0.1, -0.2]))
opt = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
lin(torch.ones(1, 3)).sum().backward(); opt.step()
obj = {
  'transposed': base.t(),
  'strided': base[1:3, ::2],
  'expanded': torch.tensor([1.5, 2.5]).reshape(2, 1).expand(2, 3),
  'half': torch.tensor([1.0, -2.0, 65504.0, -0.0], dtype=torch.float16),
  'bf16': torch.tensor([1.0, -3.140625], dtype=torch.bfloat16),
  'f64': torch.tensor([0.25, -1e300], dtype=torch.float64),
  'i64': torch.tensor([-2**62, 5], dtype=torch.int64),
  'bool': torch.tensor([True, False, True]),
  'scalar': torch.tensor(3.25),
  'model': lin.state_dict(),
  'optimizer': opt.state_dict(),
  'np': np.arange(6, dtype=np.float64).reshape(2, 3).T,
  'args': argparse.Namespace(lr=0.1),
}
torch.save(obj, 'torch113_mixed.pth')
print(lin.state_dict(), opt.state_dict()['state'])
