// Package training trains bidsieve's bid predictor: the entity-embedding network of
// docs/DESIGN.md ("Model file"), with gorgonia, from bid logs to a model file.
//
// The network is one embedding table per categorical feature, the embeddings side by side
// with the normalised continuous inputs, dense layers (1000 and 500 by default) with ReLU
// and dropout, and a 2-way log-softmax (no-bid, bid) trained with a weighted NLL loss and
// Adam on mini-batches. gorgonia runs the dense part (forward and backward); the embedding
// lookups, the dropout masks and the optimiser live outside its graph, in plain Go:
//
//   - embeddings are looked up outside the graph and updated sparsely (lazy Adam on the
//     rows a batch touched), because gorgonia's ByIndices gives every row a dense update;
//   - dropout multiplies by a mask drawn from the trainer's seeded RNG (0 or 1/(1-p)),
//     because gorgonia's Dropout has a wrong gradient for p != 0.5 and seeds from the clock;
//   - weights are initialised from the seeded RNG and bound with WithValue, gradients are
//     read from the graph's gradient nodes and applied by our own Adam, so nothing
//     accumulates between runs and a seed gives the same model;
//   - validation never runs through the training machine: it scores with the serving
//     forward pass (package predictor).
//
// A Trainer is not safe for concurrent use. It uses every core through the GEMM (see
// UseFastGEMM) and the optimiser. Units: probabilities in [0, 1], times in seconds.
package training
