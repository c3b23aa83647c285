/**
 * What is saved and how: model folders ({@link org.rollspark.model.ModelIO}: model.json plus one .npy
 * per named tensor), the architecture factory ({@link org.rollspark.model.Architectures}, the one place
 * that knows every kind of network), resumable training checkpoints, and the one staged-publish routine
 * for models, checkpoints and tables on any Hadoop file system ({@link org.rollspark.model.RemoteFolders}).
 * Uses Hadoop's FileSystem, never Spark.
 */
package org.rollspark.model;
