package org.rollspark.spark;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Where the tasks of one barrier stage learn each other's addresses: a socket on the driver that takes one
 * {@code host:port} from each of {@code n} workers and answers every one with all of them, in worker
 * order. Spark's own {@code BarrierTaskContext.allGather} does the same but checks for the answer once a
 * second, so each stage waited about a second for it (measured: docs/BENCHMARKS.md); this answers as soon
 * as the last worker has said where it is. Registrations need the stage's random token.
 */
final class Rendezvous implements AutoCloseable {
    private static final int POLL_MS = 1000;
    /** In the error of a task that cannot connect: the driver looks for it to fall back to Spark's allGather. */
    static final String UNREACHABLE = "cannot reach the driver's rendezvous";

    private final ServerSocket server;
    private final Thread thread;
    private final String address;

    /** Listens on {@code host} for the {@code n} workers of a stage whose token is {@code token}. */
    Rendezvous(String host, int n, long token) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(host, 0), Math.max(50, n));
        address = host + ":" + server.getLocalPort();
        thread = new Thread(() -> serve(n, token), "roll rendezvous " + address);
        thread.setDaemon(true);
        thread.start();
    }

    /** host:port of the driver's socket, for the tasks. */
    String address() {
        return address;
    }

    private void serve(int n, long token) {
        Socket[] peers = new Socket[n];
        String[] addresses = new String[n];
        try {
            int joined = 0;
            while (joined < n) {
                Socket s = server.accept();
                try {
                    s.setSoTimeout(10_000);
                    DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
                    long t = in.readLong();
                    int me = in.readInt();
                    String a = in.readUTF();
                    if (t != token || me < 0 || me >= n || peers[me] != null) {
                        s.close();
                        continue;
                    }
                    peers[me] = s;
                    addresses[me] = a;
                    joined++;
                } catch (IOException e) {
                    s.close(); // not one of this stage's workers
                }
            }
            for (Socket s : peers) {
                DataOutputStream out = new DataOutputStream(s.getOutputStream());
                for (String a : addresses) {
                    out.writeUTF(a);
                }
                out.flush();
            }
        } catch (IOException e) {
            // closed with the stage (or the stage failed): the workers waiting get an error
        } finally {
            for (Socket s : peers) {
                if (s != null) {
                    try {
                        s.close();
                    } catch (IOException e) {
                        // closing
                    }
                }
            }
        }
    }

    /**
     * In a task: registers worker {@code me}'s {@code mine} at the driver's {@code address} and returns all
     * {@code n} workers' addresses in worker order.
     */
    static String[] join(String address, long token, int me, int n, String mine, BooleanSupplier cancelled, long timeoutMillis)
            throws IOException {
        try (Socket s = new Socket()) {
            try {
                s.connect(TreeExchange.socketAddress(address), (int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            } catch (IOException e) {
                throw new IOException("worker " + me + " " + UNREACHABLE + " at " + address + " (" + e.getMessage() + ")", e);
            }
            s.setSoTimeout(POLL_MS);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeLong(token);
            out.writeInt(me);
            out.writeUTF(mine);
            out.flush();
            DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
            long deadline = System.currentTimeMillis() + timeoutMillis;
            while (true) {
                try {
                    in.mark(1);
                    if (in.read() < 0) {
                        throw new IOException("worker " + me + ": the driver's rendezvous closed before all " + n
                                + " workers joined");
                    }
                    in.reset();
                    break;
                } catch (SocketTimeoutException e) {
                    if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted()) {
                        throw new java.io.InterruptedIOException("worker " + me + ": the task was killed");
                    }
                    if (System.currentTimeMillis() > deadline) {
                        throw new IOException("worker " + me + ": not all " + n + " workers joined the rendezvous within "
                                + timeoutMillis / 1000 + " s");
                    }
                }
            }
            s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
            String[] all = new String[n];
            for (int i = 0; i < n; i++) {
                all[i] = in.readUTF();
            }
            return all;
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            // closing
        }
        thread.interrupt();
    }
}
