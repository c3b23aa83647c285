/** Command-line entry points and their exit codes (0 ok, 2 usage or setting, 3 input, 1 other failure). */
package org.rollspark.cli;
